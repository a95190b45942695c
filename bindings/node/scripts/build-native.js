#!/usr/bin/env node
'use strict';
// Compiles the addon from source: libtwinlink with CMake (unless TWINLINK_BUILD_DIR names a build
// tree that has it), then the addon with node-gyp against the Node headers installed on this
// machine (nothing is downloaded), and puts libtwinlink.so.0 next to the addon.
//
// Needs a C++17 compiler, CMake, and the development packages of Paho MQTT C/C++, nlohmann/json
// and SQLite (Debian: the packages scripts/bootstrap of the repository installs).
//
// Environment:
//   TWINLINK_BUILD_DIR   a configured and built CMake tree of twinlink: its capi/libtwinlink.so.0 is used
//   TWINLINK_SOURCE_DIR  the twinlink sources (default: the repository this package is in, else
//                        deps/twinlink of a packed package)
//   npm_config_nodedir   the Node headers' prefix (default: the one of the running node, e.g. /usr)

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const PACKAGE_DIR = path.resolve(__dirname, '..');

function say(message) {
  process.stderr.write(`twinlink: ${message}\n`);
}

function fail(message) {
  say(`error: ${message}`);
  process.exit(1);
}

function run(command, args, options = {}) {
  say(`${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.error) fail(`${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} exited with ${result.status}`);
}

function onPath(program) {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

const isSourceTree = (dir) =>
  fs.existsSync(path.join(dir, 'CMakeLists.txt')) && fs.existsSync(path.join(dir, 'capi', 'include', 'twinlink.h'));

function sourceDir() {
  // The checkout comes before deps/: in a checkout, deps/ is what `make node-pack` left behind,
  // sources as they were then, not the ones the build directory was made from.
  const candidates = [
    process.env.TWINLINK_SOURCE_DIR,
    path.resolve(PACKAGE_DIR, '..', '..'),
    path.join(PACKAGE_DIR, 'deps', 'twinlink'),
  ].filter(Boolean);
  const found = candidates.find(isSourceTree);
  if (!found) fail(`the twinlink sources are not there (looked in ${candidates.join(', ')})`);
  return found;
}

function jobs() {
  const cpus = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return String(Math.max(1, Math.min(cpus, 8)));
}

/** Builds libtwinlink; returns the directory holding libtwinlink.so. */
function buildLibrary(source) {
  if (process.env.TWINLINK_BUILD_DIR) {
    const dir = path.join(path.resolve(process.env.TWINLINK_BUILD_DIR), 'capi');
    if (!fs.existsSync(path.join(dir, 'libtwinlink.so.0'))) fail(`${dir}/libtwinlink.so.0 is missing: build it first`);
    return dir;
  }
  if (!onPath('cmake')) fail('cmake is needed to build libtwinlink (Debian: apt-get install cmake)');
  const build = path.join(PACKAGE_DIR, 'build-twinlink');
  const configure = [
    '-S', source, '-B', build,
    '-DCMAKE_BUILD_TYPE=Release',
    '-DTWINLINK_BUILD_TESTS=OFF',
    '-DTWINLINK_BUILD_EXAMPLES=OFF',
  ];
  if (onPath('ninja')) configure.push('-G', 'Ninja');
  if (onPath('ccache')) configure.push('-DCMAKE_CXX_COMPILER_LAUNCHER=ccache');
  if (!fs.existsSync(path.join(build, 'CMakeCache.txt'))) run('cmake', configure);
  run('cmake', ['--build', build, '--target', 'twinlink', '--parallel', jobs()]);
  return path.join(build, 'capi');
}

/** The prefix of installed Node headers (…/include/node/node_api.h), or null. */
function nodeDir() {
  const candidates = [
    process.env.npm_config_nodedir,
    path.resolve(path.dirname(process.execPath), '..'),
    '/usr',
    '/usr/local',
  ].filter(Boolean);
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) ?? null;
}

function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [PACKAGE_DIR] }));
  } catch {
    // not a development install
  }
  // npm carries its own copy.
  candidates.push(path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.filter(Boolean).find((file) => fs.existsSync(file));
  if (!found) fail('node-gyp not found (it comes with npm; or npm install node-gyp)');
  return found;
}

function buildAddon(source, libDir) {
  const headers = nodeDir();
  if (!headers) {
    fail(`the Node ${process.version} headers are not installed (include/node/node_api.h); set npm_config_nodedir to their prefix`);
  }
  const env = {
    ...process.env,
    TWINLINK_INCLUDE_DIR: path.join(source, 'capi', 'include'),
    TWINLINK_LIB_DIR: libDir,
  };
  run(process.execPath, [nodeGyp(), 'rebuild', `--nodedir=${headers}`, '--jobs', jobs()], { cwd: PACKAGE_DIR, env });
  const release = path.join(PACKAGE_DIR, 'build', 'Release');
  fs.copyFileSync(fs.realpathSync(path.join(libDir, 'libtwinlink.so.0')), path.join(release, 'libtwinlink.so.0'));
}

function main() {
  if (process.platform !== 'linux') fail(`${process.platform} is not supported (Linux only)`);
  const source = sourceDir();
  const libDir = buildLibrary(source);
  buildAddon(source, libDir);
  const addon = path.join(PACKAGE_DIR, 'build', 'Release', 'twinlink.node');
  execFileSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { stdio: 'inherit' });
  say(`built ${path.relative(process.cwd(), addon) || addon}`);
}

main();
