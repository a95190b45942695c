'use strict';
// What the tests run against, all on loopback and started by the tests themselves: a mosquitto
// with a plain, a TLS and a mutual-TLS listener (certificates made with openssl at test time), and
// the reference cloud service `twinlink serve` of the repository's C++ build. Every wait is bounded.

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
const TWINLINK_CLI = process.env.TWINLINK_CLI || path.join(REPO_ROOT, 'build', 'tools', 'twinlink', 'twinlink');
const MOSQUITTO = process.env.TWINLINK_MOSQUITTO || '/usr/sbin/mosquitto';
const READY_TIMEOUT = 20000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` (sync or async) until it returns something truthy, for `timeout` ms at most. */
async function waitFor(condition, { timeout = 10000, interval = 20, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function acceptsConnections(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.setTimeout(500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `twinlink-node-${prefix}-`));
}

async function stopProcess(child, signal = 'SIGTERM') {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// -- certificates --------------------------------------------------------------------------------

const OPENSSL_CONFIG = `# Written by the twinlink Node tests.
[req]
distinguished_name = req_dn
[req_dn]

[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/** A CA, a server and a client certificate signed by it, and a second CA that signed nothing. */
function makeTlsFiles(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, 'openssl.cnf');
  fs.writeFileSync(config, OPENSSL_CONFIG);
  const f = (name) => path.join(dir, name);
  const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
  const key = (file) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file);
  const ca = (name, stem) => {
    key(f(`${stem}.key`));
    openssl('req', '-config', config, '-new', '-x509', '-sha256', '-days', '2', '-set_serial', '1', '-subj', `/CN=${name}`,
      '-extensions', 'ca_ext', '-key', f(`${stem}.key`), '-out', f(`${stem}.crt`));
  };
  const signed = (stem, cn, extensions, serial) => {
    key(f(`${stem}.key`));
    openssl('req', '-config', config, '-new', '-sha256', '-subj', `/CN=${cn}`, '-key', f(`${stem}.key`), '-out', f(`${stem}.csr`));
    openssl('x509', '-req', '-sha256', '-days', '2', '-set_serial', serial, '-in', f(`${stem}.csr`), '-CA', f('ca.crt'),
      '-CAkey', f('ca.key'), '-extfile', config, '-extensions', extensions, '-out', f(`${stem}.crt`));
    fs.rmSync(f(`${stem}.csr`));
  };
  ca('twinlink node test CA', 'ca');
  signed('server', 'localhost', 'server_ext', '2');
  signed('client', 'twinlink-node-test-client', 'client_ext', '3');
  ca('twinlink node other CA', 'other-ca');
  return {
    caCert: f('ca.crt'),
    serverCert: f('server.crt'),
    serverKey: f('server.key'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    otherCaCert: f('other-ca.crt'),
  };
}

// -- mosquitto -----------------------------------------------------------------------------------

/**
 * A mosquitto on free loopback ports: plain (uri), and with `tls` TLS (tlsUri) and mutual TLS
 * (mtlsUri). stop() and start() keep the ports, so clients reconnect.
 */
class Broker {
  /** `wrapper`: a command that runs mosquitto, e.g. ['taskset', '-c', '0'] to pin it to a core. */
  constructor({ tls = null, dir = tempDir('broker'), wrapper = [] } = {}) {
    if (!fs.existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} not found (scripts/bootstrap installs mosquitto)`);
    this.tls = tls;
    this.dir = dir;
    this.log = path.join(dir, 'mosquitto.log');
    this.ports = [];
    this.process = null;
    this.wrapper = wrapper;
  }

  get port() {
    return this.ports[0];
  }

  get uri() {
    return `mqtt://127.0.0.1:${this.ports[0]}`;
  }

  get tlsUri() {
    return `mqtts://localhost:${this.ports[1]}`;
  }

  get mtlsUri() {
    return `mqtts://localhost:${this.ports[2]}`;
  }

  #config() {
    const lines = ['# Written by the twinlink Node tests.'];
    if (process.getuid && process.getuid() === 0) lines.push('user root');
    lines.push(
      'per_listener_settings false',
      'allow_anonymous true',
      'persistence false',
      `log_dest file ${this.log}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'max_inflight_messages 0',
      'max_queued_messages 1000000',
      'set_tcp_nodelay true',
      `listener ${this.ports[0]} 127.0.0.1`,
    );
    if (this.tls) {
      lines.push(
        `listener ${this.ports[1]} 127.0.0.1`,
        `certfile ${this.tls.serverCert}`,
        `keyfile ${this.tls.serverKey}`,
        `listener ${this.ports[2]} 127.0.0.1`,
        `certfile ${this.tls.serverCert}`,
        `keyfile ${this.tls.serverKey}`,
        `cafile ${this.tls.caCert}`,
        'require_certificate true',
      );
    }
    return `${lines.join('\n')}\n`;
  }

  /** Starts it, on the same ports as before if it ran already. */
  async start() {
    const keepPorts = this.ports.length > 0;
    for (let attempt = 0; attempt < 20; attempt++) {
      if (!keepPorts) {
        const count = this.tls ? 3 : 1;
        this.ports = [];
        for (let i = 0; i < count; i++) this.ports.push(await freePort());
        if (new Set(this.ports).size !== count) continue;
      }
      if (await this.#launch()) return this;
      if (keepPorts) await sleep(100); // the old listener's port may still be held for a moment
    }
    throw new Error(`mosquitto did not start (see ${this.log})`);
  }

  async #launch() {
    const config = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(config, this.#config());
    const offset = fs.existsSync(this.log) ? fs.statSync(this.log).size : 0;
    const [command, ...args] = [...this.wrapper, MOSQUITTO, '-c', config];
    this.process = spawn(command, args, { stdio: 'ignore' });
    const logText = () => (fs.existsSync(this.log) ? fs.readFileSync(this.log, 'utf8').slice(offset) : '');
    const deadline = Date.now() + READY_TIMEOUT;
    while (Date.now() < deadline) {
      const text = logText();
      if (this.process.exitCode !== null) {
        if (text.includes('Address already in use')) return false;
        throw new Error(`mosquitto exited while starting:\n${text}`);
      }
      if (text.includes(' running')) {
        const open = await Promise.all(this.ports.map(acceptsConnections));
        if (open.every(Boolean)) return true;
      }
      await sleep(20);
    }
    await stopProcess(this.process, 'SIGKILL');
    throw new Error(`mosquitto did not get ready in ${READY_TIMEOUT} ms:\n${logText()}`);
  }

  async stop() {
    await stopProcess(this.process);
    this.process = null;
  }
}

// -- twinlink serve ------------------------------------------------------------------------------

/** `twinlink serve --broker URI --db PATH`: the shadow service and datapoint sink. */
class Cloud {
  constructor(brokerUri, dir = tempDir('cloud')) {
    if (!fs.existsSync(TWINLINK_CLI)) throw new Error(`${TWINLINK_CLI} is missing: run \`make build\` first`);
    this.brokerUri = brokerUri;
    this.db = path.join(dir, 'cloud.db');
    this.log = path.join(dir, 'serve.log');
    this.process = null;
  }

  async start() {
    const out = fs.openSync(this.log, 'a');
    this.process = spawn(TWINLINK_CLI, ['serve', '--broker', this.brokerUri, '--db', this.db], { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    await waitFor(
      () => {
        if (this.process.exitCode !== null) throw new Error(`twinlink serve exited:\n${fs.readFileSync(this.log, 'utf8')}`);
        return fs.readFileSync(this.log, 'utf8').includes('twinlink serve: ready');
      },
      { timeout: READY_TIMEOUT, what: 'twinlink serve to get ready' },
    );
    return this;
  }

  async stop() {
    await stopProcess(this.process);
    this.process = null;
  }

  /** Runs `twinlink ARGS...` against this cloud; returns stdout. */
  cli(...args) {
    return execFileSync(TWINLINK_CLI, args, { encoding: 'utf8', timeout: 30000 });
  }
}

let counter = 0;
/** A device id no other test uses. */
function uniqueId(stem) {
  counter += 1;
  return `${stem}-${process.pid}-${counter}-${Math.random().toString(16).slice(2, 8)}`;
}

module.exports = { Broker, Cloud, makeTlsFiles, waitFor, sleep, tempDir, uniqueId, freePort, REPO_ROOT, TWINLINK_CLI };
