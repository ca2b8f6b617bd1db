// xterm.js as an ES module (made by scripts/xterm-esm.mjs before tsc, build and test).
export { FitAddon, Terminal } from '../generated/xterm.mjs';
