/** The oldest Node.js the CLI runs on: the Lambda runtime's (nodejs22.x), which its dependencies need. */
export const MIN_NODE_MAJOR = 22;

/**
 * One line saying what is needed and how to get it, or undefined when `version` is recent enough.
 * @param {string} version `process.versions.node`, e.g. "20.20.2"
 * @param {string} execPath the node binary that runs us
 * @returns {string | undefined}
 */
export function nodeVersionProblem(version, execPath) {
  const major = Number(version.split(".")[0]);
  if (major >= MIN_NODE_MAJOR) return undefined;
  return `gitpod-dr needs Node.js ${MIN_NODE_MAJOR} or later, not ${version} (${execPath}): run it as \`npx gitpod-dr …\` or \`npm run gitpod-dr -- …\` in the project folder, which use the project's own Node ${MIN_NODE_MAJOR} from node_modules/.bin`;
}
