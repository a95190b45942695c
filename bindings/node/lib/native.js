'use strict';
// Loads the addon: the prebuilt one for this platform when the package carries it, else the one
// `npm install` compiled. Both find libtwinlink.so.0 (and, prebuilt, the Paho libraries) in their
// own directory.

const path = require('node:path');

const root = path.join(__dirname, '..');
const candidates = [
  path.join(root, 'build', 'Release', 'twinlink.node'),
  path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'twinlink.node'),
];

function load() {
  const failures = [];
  // A local build (npm install compiled, or a developer ran `npm run build`) wins over the prebuild.
  for (const file of candidates) {
    try {
      return require(file);
    } catch (error) {
      if (error.code === 'MODULE_NOT_FOUND' && !String(error.message).includes('.so')) {
        failures.push(`${file}: not there`);
      } else {
        failures.push(`${file}: ${error.message}`);
      }
    }
  }
  const error = new Error(
    `twinlink: the native addon could not be loaded for ${process.platform}-${process.arch}.\n` +
      `${failures.join('\n')}\n` +
      'Compile it with `npm rebuild twinlink` (npm versions that hold install scripts back first need ' +
      '`npm install-scripts approve twinlink`) on a machine with a C++17 compiler, CMake, the Node headers ' +
      'and the Paho MQTT C/C++ development packages; docs/node.md has the details.',
  );
  error.code = 'ERR_TWINLINK_ADDON';
  throw error;
}

module.exports = load();
