// Running the real daemon from a test: its path, free loopback ports for its configuration,
// waiting for it to listen and to exit.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import dgram from "node:dgram";
import net from "node:net";
import { join, resolve } from "node:path";
import { after, before } from "node:test";

import { makeTempDir, removeDir } from "./env.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function daemonPath() {
  const path = process.env.MCAPREC_DAEMON ?? resolve("../../build/daemon/mcaprecd");
  if (!existsSync(path)) {
    throw new Error(`MCAPREC_DAEMON: ${path} does not exist (build mcaprecd, or set it)`);
  }
  return path;
}

// Ports the kernel considered free a moment ago: the daemon's config needs known numbers.
export function freeTcpPort() {
  return new Promise((r, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => r(port));
    });
  });
}

export function freeUdpPort() {
  return new Promise((r, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => r(port));
    });
  });
}

// Resolves once a connection to the port succeeds (the daemon is listening); the probe
// connection is closed at once, which the daemon sees as an empty stream.
export async function waitUntilListening(port, daemon, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (daemon.exitCode !== null) throw new Error(`mcaprecd exited early (${daemon.exitCode})`);
    const connected = await new Promise((r) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        r(true);
      });
      socket.once("error", () => r(false));
    });
    if (connected) return;
    if (Date.now() > until) throw new Error(`mcaprecd did not listen on ${port} in ${timeoutMs} ms`);
    await sleep(50);
  }
}

export function waitForExit(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((r, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      r({ code, signal });
    });
  });
}

// Starts mcaprecd on a configuration file; its stderr accumulates in `child.stderrText` so that
// failures can show what the daemon said.
export function startDaemon(configPath) {
  const child = spawn(daemonPath(), ["--config", configPath], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderrText = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text) => {
    child.stderrText += text;
  });
  return child;
}

// After a failed test the daemon may still run: never leave it behind.
export async function killIfRunning(child) {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGKILL");
    await waitForExit(child, 5000).catch(() => {});
  }
}

// The scratch directory and the daemon of a file's tests: the directory is made before them;
// start() starts the daemon; after the tests the daemon, if it still runs, is killed and the
// directory removed.
export function daemonScratch() {
  const scratch = {
    dir: undefined,
    daemon: undefined,
    start(configPath) {
      scratch.daemon = startDaemon(configPath);
      return scratch.daemon;
    },
  };
  before(async () => {
    scratch.dir = await makeTempDir();
  });
  after(async () => {
    await killIfRunning(scratch.daemon);
    await removeDir(scratch.dir);
  });
  return scratch;
}

// Writes <dir>/mcaprecd.yaml, recording into <dir>/recordings: `lines` follow that directory in
// the output section. Returns both paths.
export async function writeDaemonConfig(dir, lines) {
  const output = join(dir, "recordings");
  const config = join(dir, "mcaprecd.yaml");
  await writeFile(config, ["output:", `  directory: ${output}`, ...lines, ""].join("\n"));
  return { config, output };
}
