// Pause, resume and an event through `mcaprec ctl` on the real daemon while a producer streams
// messages stamped with the wall clock over TCP; the official indexed reader (every CRC checked)
// then finds: in the continuous files every message except those whose log time lies in
// [pause at, resume at), and no on-event channel; in the event file every message of both
// channels inside [t - before, t + after], nothing more than one chunk_max_age beyond it, and
// the `mcaprec.event` metadata record with the event's fields.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";

import { McapRecordBuilder } from "@mcap/core";

import {
  daemonScratch,
  freeTcpPort,
  sleep,
  waitForExit,
  waitUntilListening,
  writeDaemonConfig,
} from "./lib/daemon.mjs";
import { toolPath } from "./lib/env.mjs";
import { readIndexed } from "./lib/official.mjs";

const kChunkMaxAgeMs = 100;
// A chunk sealed by age spans chunk_max_age of arrival time; the sealer waking late and the
// loopback hop add a little more in log time on a busy machine.
const kSchedulingSlackMs = 40;
const kTopics = ["/fast", "/camera"]; // /camera is record: on_event
const kRatePerMs = 3; // messages per topic: ~3 kHz, whatever the timer's real tick

// Wall-clock nanoseconds with hrtime's resolution: the daemon stamps pause, resume and the
// event trigger with its realtime clock, the producer stamps log times with this.
const clockOrigin = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
const nowNs = () => clockOrigin + process.hrtime.bigint();

// The daemon's JSON with nanosecond times kept exact: numbers too long for a double become
// strings, which BigInt() takes.
const parseExact = (text) => JSON.parse(text.replace(/:\s*(\d{16,})/g, ':"$1"'));

// `mcaprec ctl --socket S ARGS --json` without blocking the producer's event loop.
function ctl(socket, args) {
  return new Promise((resolve) => {
    execFile(toolPath(), ["ctl", "--socket", socket, ...args, "--json"], { timeout: 20000 },
      (error, stdout, stderr) => {
        const status = error ? (error.code ?? -1) : 0;
        resolve({ status, stderr, answer: status === 0 ? parseExact(stdout) : undefined });
      });
  });
}

async function ctlOk(socket, args) {
  const result = await ctl(socket, args);
  assert.equal(result.status, 0, `mcaprec ctl ${args.join(" ")}: ${result.stderr}`);
  return result.answer;
}

// An MCAP stream over TCP, unchunked, both topics at the same rate; remembers every
// message it sent (topic, sequence, log time).
class Producer {
  constructor(socket) {
    this.socket = socket;
    this.sent = [];
    this.builder = new McapRecordBuilder();
    this.builder.writeMagic();
    this.builder.writeHeader({ profile: "", library: "interop control_events" });
    kTopics.forEach((topic, index) => {
      this.builder.writeChannel({ id: index + 1, schemaId: 0, topic, messageEncoding: "raw",
                                  metadata: new Map() });
    });
    this.sequence = 0;
    this.started = Date.now();
    this.timer = setInterval(() => this.tick(), 1);
  }
  // Catches up with the rate (a late timer sends more at once).
  tick() {
    const due = (Date.now() - this.started) * kRatePerMs;
    while (this.sequence < due) {
      const sequence = this.sequence++;
      kTopics.forEach((topic, index) => {
        const logTime = nowNs();
        const data = new TextEncoder().encode(`${topic} ${sequence} `.padEnd(200, "x"));
        this.builder.writeMessage({ channelId: index + 1, sequence, logTime, publishTime: logTime,
                                    data });
        this.sent.push({ topic, sequence, logTime });
      });
    }
    this.socket.write(Buffer.from(this.builder.buffer));
    this.builder.reset();
  }
  // Stops sending and resolves once the daemon has read everything and closed its side.
  async finish() {
    clearInterval(this.timer);
    const closed = new Promise((r) => this.socket.once("close", r));
    this.socket.end();
    this.socket.resume();
    await closed;
  }
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => resolve(socket));
    socket.once("error", reject);
  });
}

const key = (m) => `${m.topic}#${m.sequence}`;
const scratch = daemonScratch();

test("pause/resume and an event, as the official reader sees the files", {
  timeout: 60000,
}, async () => {
  const port = await freeTcpPort();
  const socket = join(scratch.dir, "control.sock");
  const { config, output } = await writeDaemonConfig(scratch.dir, [
    "  min_free_bytes: 0",
    "mcap:",
    "  chunk_size: 64KiB",
    `  chunk_max_age: ${kChunkMaxAgeMs}ms`,
    "pipeline:",
    "  compressor_threads: 1",
    "  memory_budget: 64MiB",
    "  shutdown_timeout: 8s",
    "control:",
    `  socket: ${socket}`,
    "events:",
    "  look_back: 5s",
    "  memory_bytes: 256KiB",
    "  spool_bytes: 64MiB",
    "channels:",
    "  - {topic: /camera, record: on_event}",
    "sources:",
    "  - name: producer",
    "    transport: tcp",
    `    bind: 127.0.0.1:${port}`,
    "    format: mcap",
    "logging:",
    "  level: warn",
  ]);
  const daemon = scratch.start(config);
  await waitUntilListening(port, daemon, 10000);
  const producer = new Producer(await connect(port));

  await sleep(400);
  const pauseAt = BigInt((await ctlOk(socket, ["pause"])).at);
  await sleep(400);
  const resumeAt = BigInt((await ctlOk(socket, ["resume"])).at);
  await sleep(1000);
  const marked = await ctlOk(socket, ["event", "look", "--before", "400ms", "--after", "300ms",
                                      "--field", "driver=alice", "--field", "road=A9"]);
  let event = marked;
  for (const until = Date.now() + 15000; event.phase !== "finalized" && Date.now() < until; ) {
    await sleep(100);
    event = await ctlOk(socket, ["events", String(marked.id)]);
  }
  await producer.finish();
  daemon.kill("SIGTERM");
  const exit = await waitForExit(daemon, 20000);
  assert.deepEqual(exit, { code: 0, signal: null }, `mcaprecd stderr:\n${daemon.stderrText}`);
  assert.equal(event.phase, "finalized", JSON.stringify(event));
  assert.ok(existsSync(event.file), `${event.file} exists`);

  const names = (await readdir(output)).filter((name) => name.endsWith(".mcap"));
  const continuous = names.filter((name) => !name.includes("_event_"));
  assert.ok(continuous.length >= 1, `continuous files among ${names}`);
  const recorded = [];
  for (const name of continuous) recorded.push(...(await readIndexed(join(output, name))).messages);
  checkPause(producer.sent, recorded, pauseAt, resumeAt);
  checkEvent(producer.sent, await readIndexed(event.file), marked);
});

// Every /fast message outside [pauseAt, resumeAt) once, none inside, no /camera at all.
function checkPause(sent, recorded, pauseAt, resumeAt) {
  const paused = (m) => m.logTime >= pauseAt && m.logTime < resumeAt;
  assert.equal(recorded.filter((m) => m.topic === "/camera").length, 0,
               "an on-event channel in a continuous file");
  const fast = recorded.filter((m) => m.topic === "/fast");
  assert.deepEqual(fast.filter(paused).map(key), [], "recorded during the pause");
  const expected = sent.filter((m) => m.topic === "/fast" && !paused(m));
  const insidePause = sent.filter((m) => m.topic === "/fast" && paused(m)).length;
  assert.ok(insidePause > 300, `${insidePause} messages were sent during the pause`);
  assert.equal(fast.length, expected.length, "continuous /fast messages: count");
  const found = new Set(fast.map(key));
  assert.equal(found.size, fast.length, "a message recorded twice");
  assert.deepEqual(expected.filter((m) => !found.has(key(m))).map(key), [], "missing");
}

function checkEvent(sent, file, marked) {
  const record = file.metadata.find((m) => m.name === "mcaprec.event");
  assert.ok(record, "the mcaprec.event metadata record");
  const fields = Object.fromEntries(record.metadata);
  assert.equal(fields.name, "look");
  assert.equal(fields.trigger, "control");
  assert.equal(fields.id, String(marked.id));
  assert.equal(fields["field.driver"], "alice");
  assert.equal(fields["field.road"], "A9");
  const start = BigInt(fields.window_start);
  const end = BigInt(fields.window_end);
  assert.equal(BigInt(fields.trigger_time) - start, 400_000_000n, "before");
  assert.equal(end - BigInt(fields.trigger_time), 300_000_000n, "after");
  assert.equal(start, BigInt(marked.window_start));

  const margin = BigInt(kChunkMaxAgeMs + kSchedulingSlackMs) * 1_000_000n;
  const got = new Set();
  for (const m of file.messages) {
    assert.ok(m.logTime + margin >= start && m.logTime <= end + margin,
              `${key(m)} at ${m.logTime} is beyond one chunk_max_age of [${start}, ${end}]`);
    assert.ok(!got.has(key(m)), `${key(m)} twice in the event file`);
    got.add(key(m));
  }
  for (const topic of kTopics) {
    const inside = sent.filter((m) => m.topic === topic && m.logTime >= start && m.logTime <= end);
    assert.ok(inside.length > 1000, `${inside.length} ${topic} messages inside the window`);
    assert.deepEqual(inside.filter((m) => !got.has(key(m))).map(key), [],
                     `${topic} messages of the window missing from the event file`);
  }
}
