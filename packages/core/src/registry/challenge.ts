/**
 * `WWW-Authenticate` parsing (RFC 7235 auth-params), as the distribution token spec uses it:
 * `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"`.
 */
export interface Challenge {
  /** Lower-cased scheme: `bearer` or `basic` (others are returned as given, lower-cased). */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses the first challenge of a `WWW-Authenticate` header value. Parameter names are lower-cased;
 * quoted values are unescaped. Returns `undefined` for an empty or unparsable header.
 */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const text = header.trim();
  const schemeMatch = /^([A-Za-z][\w!#$%&'*+.^`|~-]*)\s*/.exec(text);
  if (!schemeMatch) return undefined;
  const scheme = (schemeMatch[1] as string).toLowerCase();
  const params: Record<string, string> = {};
  let i = schemeMatch[0].length;
  while (i < text.length) {
    const name = /^\s*([\w!#$%&'*+.^`|~-]+)\s*=\s*/.exec(text.slice(i));
    if (!name) break;
    i += name[0].length;
    let value = "";
    if (text[i] === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      i++; // closing quote
    } else {
      const token = /^[^,\s]*/.exec(text.slice(i));
      value = token ? token[0] : "";
      i += value.length;
    }
    params[(name[1] as string).toLowerCase()] = value;
    const sep = /^\s*,?\s*/.exec(text.slice(i));
    if (!sep || sep[0] === "") break;
    i += sep[0].length;
  }
  return { scheme, params };
}

/** A repository scope as the token server expects it: `repository:<name>:<actions>`. */
export function repositoryScope(repository: string, actions: "pull" | "pull,push"): string {
  return `repository:${repository}:${actions}`;
}

/**
 * Merges scopes so one token covers all of them: actions of the same resource are united
 * (`repository:a:pull` + `repository:a:push` → `repository:a:pull,push`). Sorted, for stable cache keys.
 */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  for (const scope of scopes) {
    for (const one of scope.split(" ")) {
      if (one === "") continue;
      const last = one.lastIndexOf(":");
      if (last < 0) {
        byResource.set(one, byResource.get(one) ?? new Set());
        continue;
      }
      const resource = one.slice(0, last);
      const actions = byResource.get(resource) ?? new Set<string>();
      for (const action of one.slice(last + 1).split(",")) if (action) actions.add(action);
      byResource.set(resource, actions);
    }
  }
  return [...byResource.entries()]
    .map(([resource, actions]) => (actions.size ? `${resource}:${[...actions].sort().join(",")}` : resource))
    .sort();
}
