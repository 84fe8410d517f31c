// `mcaprec filter` over files of the official TypeScript writer (declarations inside chunks:
// rewritten) and of `mcaprec convert` (declarations outside: chunks copied as they are). The
// merged output opens in the official readers, every CRC checked, and holds the selection.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";

import zstd from "@foxglove/wasm-zstd";
import { McapWriter, TempBuffer } from "@mcap/core";

import { makeTempDir, removeDir, run, toolPath } from "./lib/env.mjs";
import { byTimeTopicSequence, checkEveryCrc, readBoth } from "./lib/official.mjs";
import { makePayload } from "./lib/payload.mjs";

const kText = "filter interop sample: lorem ipsum dolor sit amet 42\n";
const kBase = 1_763_800_000_000_000_000n;
const kTopics = ["/imu", "/log"];
let dir;
let outDir; // apart from the inputs, which filter reads as a directory

// 400 messages 1 ms apart from `first`, alternating topics, in 16 KiB zstd chunks.
function plan(first) {
  return Array.from({ length: 400 }, (_, i) => ({
    channel: i % 2,
    topic: kTopics[i % 2],
    sequence: i,
    logTime: first + BigInt(i) * 1_000_000n,
    publishTime: first + BigInt(i) * 1_000_000n,
    data: makePayload(50 + (i % 200), i, "text", kText),
  }));
}

async function writeOfficial(path, messages) {
  await zstd.isLoaded;
  const buffer = new TempBuffer();
  const writer = new McapWriter({
    writable: buffer,
    chunkSize: 16 * 1024,
    compressChunk: (data) => ({ compression: "zstd", compressedData: zstd.compress(data, 3) }),
  });
  await writer.start({ profile: "", library: "interop-test" });
  const ids = [];
  for (const topic of kTopics) {
    ids.push(await writer.registerChannel({ topic, messageEncoding: "json", schemaId: 0, metadata: new Map() }));
  }
  for (const m of messages) {
    await writer.addMessage({ channelId: ids[m.channel], sequence: m.sequence, logTime: m.logTime,
                              publishTime: m.publishTime, data: m.data });
  }
  await writer.end();
  await writeFile(path, buffer.get());
}

function assertSame(got, expected) {
  const a = [...got].sort(byTimeTopicSequence);
  const e = [...expected].sort(byTimeTopicSequence);
  assert.equal(a.length, e.length, "message count");
  for (let i = 0; i < e.length; i++) {
    assert.equal(a[i].topic, e[i].topic);
    assert.equal(a[i].logTime, e[i].logTime);
    assert.ok(Buffer.from(a[i].data).equals(Buffer.from(e[i].data)), "payload differs");
  }
}

const first = plan(kBase);
const second = plan(kBase + 1_000_000_000n);

before(async () => {
  dir = await makeTempDir();
  outDir = await makeTempDir();
  await writeOfficial(join(dir, "official_1.mcap"), first);
  await writeOfficial(join(dir, "official_2.mcap"), second);
  const converted = run(toolPath(), ["convert", join(dir, "official_2.mcap"), join(dir, "ours_2.mcap")]);
  assert.equal(converted.status, 0, converted.stderr);
});

after(async () => {
  await removeDir(dir);
  await removeDir(outDir);
});

test("filter merges an official file and a converted one; official readers read the result", async () => {
  const out = join(outDir, "merged.mcap");
  const result = run(toolPath(), ["filter", join(dir, "ours_2.mcap"), join(dir, "official_1.mcap"), "-o", out]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /800 messages, [1-9]\d* chunks copied without recompression/);
  const { bytes, indexed, streamed } = await readBoth(out);
  checkEveryCrc(bytes, indexed, streamed);
  assertSame(indexed.messages, [...first, ...second]);
  assertSame(streamed.messages, [...first, ...second]);
  // In file order, the earlier input comes first (each input keeps its own chunk order:
  // convert gives each channel its own chunks, which overlap in time).
  const firstOfSecond = streamed.messages.findIndex((m) => m.logTime >= kBase + 1_000_000_000n);
  assert.ok(streamed.messages.slice(firstOfSecond).every((m) => m.logTime >= kBase + 1_000_000_000n),
            "the inputs are merged by time");
  assert.equal(run(toolPath(), ["verify", out]).status, 0);
});

test("filter by topic and time: the official readers see exactly the selection", async () => {
  const out = join(outDir, "imu.mcap");
  const result = run(toolPath(), ["filter", dir, "--topics", "^/imu$", "--start", "+100ms", "--end",
                                  String(kBase + 1_200_000_000n), "-o", out]);
  assert.equal(result.status, 0, result.stderr);
  const { bytes, indexed, streamed } = await readBoth(out);
  checkEveryCrc(bytes, indexed, streamed);
  // The directory holds official_2 and ours_2 with the same messages: both are kept.
  const expected = [...first, ...second, ...second].filter(
    (m) => m.topic === "/imu" && m.logTime >= kBase + 100_000_000n && m.logTime < kBase + 1_200_000_000n);
  assertSame(indexed.messages, expected);
});
