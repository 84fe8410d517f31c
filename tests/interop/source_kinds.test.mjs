// Every kind of source the daemon has (TCP MCAP stream, UDP MCAP datagrams, raw UDP datagrams,
// TCP length-prefixed frames) fed by `mcaprec send` at once; after SIGTERM the recordings open in
// the official indexed reader with every CRC checked and hold exactly what each sender says it
// sent, topic by topic.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";

import {
  daemonScratch,
  freeTcpPort,
  freeUdpPort,
  sleep,
  waitForExit,
  waitUntilListening,
  writeDaemonConfig,
} from "./lib/daemon.mjs";
import { run, toolPath } from "./lib/env.mjs";
import { readIndexed } from "./lib/official.mjs";

// Runs `mcaprec send … --json` and returns its per-topic message counts.
function send(args) {
  const result = run(toolPath(), ["send", ...args, "--json"], 30000);
  assert.equal(result.status, 0, `mcaprec send ${args.join(" ")}: ${result.stderr}`);
  const report = JSON.parse(result.stdout);
  assert.equal(report.skipped, 0, `mcaprec send skipped messages: ${result.stdout}`);
  return new Map(report.topics.map((t) => [t.topic, t.messages]));
}

const scratch = daemonScratch();

test("each source kind is recorded exactly, as the official reader sees it", {
  timeout: 60000,
}, async () => {
  const ports = {
    stream: await freeTcpPort(),
    frames: await freeTcpPort(),
    datagrams: await freeUdpPort(),
    raw: await freeUdpPort(),
  };
  const { config, output } = await writeDaemonConfig(scratch.dir, [
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
  ]);

  const daemon = scratch.start(config);
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
  assert.deepEqual(exit, { code: 0, signal: null }, `mcaprecd stderr:\n${daemon.stderrText}`);

  const files = (await readdir(output)).filter((name) => name.endsWith(".mcap"));
  assert.ok(files.length >= 1, "a finalized recording");
  assert.deepEqual((await readdir(output)).filter((n) => n.endsWith(".active")), []);
  const recorded = new Map();
  for (const name of files) {
    const { messages } = await readIndexed(join(output, name));
    for (const m of messages) recorded.set(m.topic, (recorded.get(m.topic) ?? 0) + 1);
  }
  const sorted = (map) => Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)));
  assert.deepEqual(sorted(recorded), sorted(expected), `mcaprecd stderr:\n${daemon.stderrText}`);
});
