// Every kind of source the daemon has (TCP MCAP stream, UDP MCAP datagrams, raw UDP datagrams,
// TCP length-prefixed frames) fed by `mcaprec send` at once; after SIGTERM the recordings open in
// the official indexed reader with every CRC checked and hold exactly what each sender says it
// sent, topic by topic.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import dgram from "node:dgram";
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import net from "node:net";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

import { makeTempDir, removeDir, run, toolPath } from "./lib/env.mjs";
import { readIndexed } from "./lib/official.mjs";

function daemonPath() {
  const path = process.env.MCAPREC_DAEMON ?? resolve("../../build/daemon/mcaprecd");
  if (!existsSync(path)) {
    throw new Error(`MCAPREC_DAEMON: ${path} does not exist (build mcaprecd, or set it)`);
  }
  return path;
}

// Ports the kernel considered free a moment ago: the daemon's config needs known numbers.
function freeTcpPort() {
  return new Promise((r, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => r(port));
    });
  });
}
function freeUdpPort() {
  return new Promise((r, reject) => {
    const socket = dgram.createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address();
      socket.close(() => r(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitUntilListening(port, daemon, timeoutMs) {
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

function waitForExit(child, timeoutMs) {
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

// Runs `mcaprec send … --json` and returns its per-topic message counts.
function send(args) {
  const result = run(toolPath(), ["send", ...args, "--json"], 30000);
  assert.equal(result.status, 0, `mcaprec send ${args.join(" ")}: ${result.stderr}`);
  const report = JSON.parse(result.stdout);
  assert.equal(report.skipped, 0, `mcaprec send skipped messages: ${result.stdout}`);
  return new Map(report.topics.map((t) => [t.topic, t.messages]));
}

let dir;
let daemon;
let daemonStderr = "";

before(async () => {
  dir = await makeTempDir();
});

after(async () => {
  if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
    daemon.kill("SIGKILL");
    await waitForExit(daemon, 5000).catch(() => {});
  }
  await removeDir(dir);
});

test("each source kind is recorded exactly, as the official reader sees it", {
  timeout: 60000,
}, async () => {
  const ports = {
    stream: await freeTcpPort(),
    frames: await freeTcpPort(),
    datagrams: await freeUdpPort(),
    raw: await freeUdpPort(),
  };
  const output = join(dir, "recordings");
  const config = join(dir, "mcaprecd.yaml");
  await writeFile(
    config,
    [
      "output:",
      `  directory: ${output}`,
      "  prefix: kinds",
      "  min_free_bytes: 0",
      "mcap:",
      "  chunk_size: 256KiB",
      "  chunk_max_age: 100ms",
      "pipeline:",
      "  compressor_threads: 1",
      "  memory_budget: 128MiB",
      "sources:",
      "  - name: stream",
      "    transport: tcp",
      `    bind: 127.0.0.1:${ports.stream}`,
      "    format: mcap",
      "  - name: frames",
      "    transport: tcp",
      `    bind: 127.0.0.1:${ports.frames}`,
      "    format: length_prefixed",
      "    topic: /kinds/frames",
      "  - name: datagrams",
      "    transport: udp",
      `    bind: 127.0.0.1:${ports.datagrams}`,
      "    format: mcap",
      "  - name: raw",
      "    transport: udp",
      `    bind: 127.0.0.1:${ports.raw}`,
      "    format: raw",
      "    topic: /kinds/raw",
      "logging:",
      "  level: warn",
      "",
    ].join("\n"),
  );

  daemon = spawn(daemonPath(), ["--config", config], { stdio: ["ignore", "ignore", "pipe"] });
  daemon.stderr.setEncoding("utf8");
  daemon.stderr.on("data", (text) => {
    daemonStderr += text;
  });
  await waitUntilListening(ports.stream, daemon, 10000);
  await waitUntilListening(ports.frames, daemon, 10000);

  // The TCP sources take everything as fast as it comes (flow control slows the sender); the
  // UDP ones are paced well below what loopback loses. The UDP MCAP sender keeps to topics whose
  // messages fit a datagram.
  const expected = new Map();
  const add = (counts) => {
    for (const [topic, n] of counts) expected.set(topic, (expected.get(topic) ?? 0) + n);
  };
  const stream = send([`tcp://127.0.0.1:${ports.stream}`, "--count", "3000", "--max"]);
  add(stream);
  const frames = send([`tcp://127.0.0.1:${ports.frames}`, "--raw-size", "3000", "--count", "2000", "--max"]);
  expected.set("/kinds/frames", frames.get("raw"));
  const datagrams = send([`udp://127.0.0.1:${ports.datagrams}`, "--count", "1500", "--topics",
    "/imu,/can,/diagnostics", "--speed", "2"]);
  add(datagrams);
  const raw = send([`udp://127.0.0.1:${ports.raw}`, "--raw-size", "1200", "--count", "2000",
    "--rate", "4000"]);
  expected.set("/kinds/raw", raw.get("raw"));
  assert.ok(stream.size >= 5, `the sensor mix covers its topics: ${[...stream.keys()]}`);

  await sleep(300);  // the last datagrams reach the daemon's sockets
  daemon.kill("SIGTERM");
  const exit = await waitForExit(daemon, 15000);
  assert.deepEqual(exit, { code: 0, signal: null }, `mcaprecd stderr:\n${daemonStderr}`);

  const files = (await readdir(output)).filter((name) => name.endsWith(".mcap"));
  assert.ok(files.length >= 1, "a finalized recording");
  assert.deepEqual((await readdir(output)).filter((n) => n.endsWith(".active")), []);
  const recorded = new Map();
  for (const name of files) {
    const { messages } = await readIndexed(join(output, name));
    for (const m of messages) recorded.set(m.topic, (recorded.get(m.topic) ?? 0) + 1);
  }
  const sorted = (map) => Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
  assert.deepEqual(sorted(recorded), sorted(expected), `mcaprecd stderr:\n${daemonStderr}`);
});
