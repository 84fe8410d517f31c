// The official TypeScript writer (@mcap/core McapWriter) streams straight into the real daemon's
// TCP mcap source; after SIGTERM the recorded files open in the official indexed reader with
// every CRC checked, and hold each message exactly once with the topic, times, sequence and
// bytes the writer sent.
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { test } from "node:test";

import { McapWriter } from "@mcap/core";

import {
  daemonScratch,
  freeTcpPort,
  sleep,
  waitForExit,
  waitUntilListening,
  writeDaemonConfig,
} from "./lib/daemon.mjs";
import { addPlannedMessage, readIndexed } from "./lib/official.mjs";
import { makePayload } from "./lib/payload.mjs";

const kDeadlineMs = 25000;
const kBase = 1_763_900_000_000_000_000n;
const kText = "streamed by the official writer into mcaprecd over tcp, 0123456789\n";
const kTopics = ["/stream/lidar", "/stream/imu", "/stream/text", "/stream/empty"];
const kMessageCount = 4000;

function connect(port) {
  return new Promise((r, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.off("error", reject);
      r(socket);
    });
    socket.once("error", reject);
  });
}

// The IWritable McapWriter needs, over a socket: a write resolves when the kernel took the
// bytes or, if the socket's buffer is full, once it drained, so a slow daemon slows the writer.
class SocketWritable {
  constructor(socket) {
    this.socket = socket;
    this.written = 0n;
    this.drains = 0;
  }
  position() {
    return this.written;
  }
  write(buffer) {
    this.written += BigInt(buffer.byteLength);
    return new Promise((r, reject) => {
      const flushed = this.socket.write(buffer, (error) => {
        if (error) reject(error);
      });
      if (flushed) {
        r();
        return;
      }
      this.drains++;
      const onClose = () => reject(new Error("socket closed while waiting for drain"));
      this.socket.once("close", onClose);
      this.socket.once("drain", () => {
        this.socket.off("close", onClose);
        r();
      });
    });
  }
}

// Message i: its channel, times, sequence and payload (sizes 0 to ~9 KB, text or noise).
function messagePlan() {
  const plan = [];
  const sequences = kTopics.map(() => 0);
  for (let i = 0; i < kMessageCount; i++) {
    const channel = i % kTopics.length;
    const size = channel === 3 ? 0 : channel === 0 ? 2000 + ((i * 7919) % 7000) : (i * 37) % 600;
    plan.push({
      channel,
      topic: kTopics[channel],
      sequence: sequences[channel]++,
      logTime: kBase + BigInt(i) * 1_000_000n,
      publishTime: kBase + BigInt(i) * 1_000_000n - 17n,
      data: makePayload(size, i + 1, i % 5 === 0 ? "random" : "text", kText),
    });
  }
  return plan;
}

const scratch = daemonScratch();

test("McapWriter streams to the TCP source; the recording holds every message once", {
  timeout: kDeadlineMs + 5000,
}, async () => {
  const started = Date.now();
  const port = await freeTcpPort();
  const { config, output } = await writeDaemonConfig(scratch.dir, [
    "  prefix: stream",
    "  min_free_bytes: 0",
    "mcap:",
    "  chunk_size: 64KiB",
    "  chunk_max_age: 100ms",
    "pipeline:",
    "  compressor_threads: 1",
    "  memory_budget: 64MiB",
    "  queue_bytes: 4MiB",
    "  shutdown_timeout: 8s",
    "sources:",
    "  - name: official",
    "    transport: tcp",
    `    bind: 127.0.0.1:${port}`,
    "    format: mcap",
    "logging:",
    "  level: warn",
  ]);

  const daemon = scratch.start(config);
  await waitUntilListening(port, daemon, 10000);

  const plan = messagePlan();
  const socket = await connect(port);
  const writable = new SocketWritable(socket);
  // Small chunks so that many chunk records cross the socket; the daemon unpacks them.
  const writer = new McapWriter({ writable, useChunks: true, chunkSize: 32 * 1024 });
  await writer.start({ profile: "", library: "interop tcp_stream" });
  const schemaId = await writer.registerSchema({
    name: "stream.Blob",
    encoding: "jsonschema",
    data: new TextEncoder().encode('{"type":"object"}'),
  });
  const channelIds = [];
  for (const [index, topic] of kTopics.entries()) {
    channelIds.push(
      await writer.registerChannel({
        topic,
        messageEncoding: index === 0 ? "json" : "",
        schemaId: index === 0 ? schemaId : 0,
        metadata: new Map([["index", String(index)]]),
      }),
    );
  }
  for (const m of plan) {
    await addPlannedMessage(writer, channelIds, m);
  }
  await writer.end();
  // End our side and wait until the daemon closes its side: it has read the whole stream.
  const closed = new Promise((r) => socket.once("close", r));
  socket.end();
  socket.resume();  // the daemon sends nothing; reading lets 'end' and 'close' arrive
  await closed;

  daemon.kill("SIGTERM");
  const exit = await waitForExit(daemon, 12000);
  assert.deepEqual(exit, { code: 0, signal: null }, `mcaprecd stderr:\n${daemon.stderrText}`);

  const files = (await readdir(output)).filter((name) => name.endsWith(".mcap")).sort();
  assert.ok(files.length >= 1, `no recording in ${output}`);
  const received = [];
  for (const name of files) {
    const { messages } = await readIndexed(join(output, name));
    received.push(...messages);
  }

  assert.equal(received.length, plan.length, "message count across the recordings");
  // Exactly once: key every message by topic and sequence, each must appear one time.
  const byKey = new Map();
  for (const m of received) {
    const key = `${m.topic}#${m.sequence}`;
    assert.ok(!byKey.has(key), `${key} recorded twice`);
    byKey.set(key, m);
  }
  for (const e of plan) {
    const key = `${e.topic}#${e.sequence}`;
    const a = byKey.get(key);
    assert.ok(a, `${key} missing`);
    assert.equal(a.logTime, e.logTime, `${key}: log_time`);
    assert.equal(a.publishTime, e.publishTime, `${key}: publish_time`);
    assert.ok(Buffer.from(a.data).equals(Buffer.from(e.data)), `${key}: payload differs`);
  }
  assert.ok(Date.now() - started < kDeadlineMs, "the round trip took too long");
});
