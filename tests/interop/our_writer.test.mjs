// Files written by mcaprec's Writer, opened with the official TypeScript readers
// (McapIndexedReader and McapStreamReader, every CRC checked): everything the manifest says the
// file holds comes back byte for byte.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import { makeTempDir, removeDir, run, samplesWriterPath, toolPath } from "./lib/env.mjs";
import {
  byTimeTopicSequence,
  checkEveryCrc,
  mapToObject,
  readBoth,
  sortedObject,
} from "./lib/official.mjs";
import { makePayload } from "./lib/payload.mjs";

let dir;
let manifest;

before(async () => {
  dir = await makeTempDir();
  const result = run(samplesWriterPath(), [dir], 30000);
  assert.equal(result.status, 0, `interop_write_samples failed:\n${result.stderr}`);
  manifest = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
});

after(() => removeDir(dir));

function expectedMessages(file) {
  const topics = new Map(file.channels.map((c) => [c.id, c.topic]));
  return file.messages.map((m) => ({
    topic: topics.get(m.channel_id),
    channelId: m.channel_id,
    sequence: m.sequence,
    logTime: BigInt(m.log_time),
    publishTime: BigInt(m.publish_time),
    data: makePayload(m.size, m.seed, m.pattern, manifest.text_pattern),
  }));
}

function assertSameMessages(actual, expected, reader) {
  assert.equal(actual.length, expected.length, `${reader}: message count`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const where = `${reader}: message ${i} (${e.topic} #${e.sequence})`;
    assert.equal(a.topic, e.topic, `${where}: topic`);
    assert.equal(a.channelId, e.channelId, `${where}: channel id`);
    assert.equal(a.sequence, e.sequence, `${where}: sequence`);
    assert.equal(a.logTime, e.logTime, `${where}: log_time`);
    assert.equal(a.publishTime, e.publishTime, `${where}: publish_time`);
    assert.equal(a.data.length, e.data.length, `${where}: payload size`);
    assert.ok(Buffer.from(a.data).equals(Buffer.from(e.data)), `${where}: payload bytes differ`);
  }
}

function assertChannelsAndSchemas(file, channelsById, schemasById, reader) {
  assert.equal(channelsById.size, file.channels.length, `${reader}: channel count`);
  for (const c of file.channels) {
    const got = channelsById.get(c.id);
    assert.ok(got, `${reader}: channel ${c.id} missing`);
    assert.deepEqual(
      {
        topic: got.topic,
        schemaId: got.schemaId,
        messageEncoding: got.messageEncoding,
        metadata: mapToObject(got.metadata),
      },
      {
        topic: c.topic,
        schemaId: c.schema_id,
        messageEncoding: c.message_encoding,
        metadata: sortedObject(c.metadata),
      },
      `${reader}: channel ${c.id}`,
    );
  }
  if (!schemasById) return;
  assert.equal(schemasById.size, file.schemas.length, `${reader}: schema count`);
  for (const s of file.schemas) {
    const got = schemasById.get(s.id);
    assert.ok(got, `${reader}: schema ${s.id} missing`);
    assert.equal(got.name, s.name);
    assert.equal(got.encoding, s.encoding);
    assert.equal(new TextDecoder().decode(got.data), s.data);
  }
}

function assertAttachments(actual, file, reader) {
  assert.equal(actual.length, file.attachments.length, `${reader}: attachment count`);
  // Both readers yield attachments in file order, which is the order they were written.
  file.attachments.forEach((e, i) => {
    const a = actual[i];
    const where = `${reader}: attachment ${e.name}`;
    assert.equal(a.name, e.name, `${where}: name`);
    assert.equal(a.mediaType, e.media_type, `${where}: media type`);
    assert.equal(a.logTime, BigInt(e.log_time), `${where}: log_time`);
    assert.equal(a.createTime, BigInt(e.create_time), `${where}: create_time`);
    const data = makePayload(e.size, e.seed, e.pattern, manifest.text_pattern);
    assert.ok(Buffer.from(a.data).equals(Buffer.from(data)), `${where}: data differs`);
  });
}

function assertMetadata(actual, file, reader) {
  assert.deepEqual(
    actual.map((m) => ({ name: m.name, metadata: mapToObject(m.metadata) })),
    file.metadata.map((m) => ({ name: m.name, metadata: sortedObject(m.metadata) })),
    `${reader}: metadata records`,
  );
}

async function checkFile(file) {
  const { bytes, indexed, streamed } = await readBoth(join(dir, file.file));
  const expected = expectedMessages(file);
  const { reader } = indexed;

  // Indexed reader: messages come in log-time order; compare against the manifest sorted the
  // same way (topic and sequence break ties, they are unique per topic).
  for (let i = 1; i < indexed.messages.length; i++) {
    assert.ok(indexed.messages[i - 1].logTime <= indexed.messages[i].logTime, "indexed order");
  }
  assertSameMessages(
    [...indexed.messages].sort(byTimeTopicSequence),
    [...expected].sort(byTimeTopicSequence),
    "McapIndexedReader",
  );
  // Stream reader: file order, which is exactly the order the messages were written.
  assertSameMessages(streamed.messages, expected, "McapStreamReader");

  assertChannelsAndSchemas(file, reader.channelsById, reader.schemasById, "McapIndexedReader");
  assertChannelsAndSchemas(file, streamed.channels, null, "McapStreamReader");
  assertAttachments(indexed.attachments, file, "McapIndexedReader");
  assertAttachments(streamed.attachments, file, "McapStreamReader");
  assertMetadata(indexed.metadata, file, "McapIndexedReader");
  assertMetadata(streamed.metadata, file, "McapStreamReader");
  assert.equal(reader.header.library, file.library);
  assert.equal(reader.header.profile, file.profile);

  const stats = reader.statistics;
  assert.ok(stats, "no Statistics record");
  assert.equal(stats.messageCount, BigInt(expected.length), "Statistics.message_count");
  assert.equal(stats.channelCount, file.channels.length, "Statistics.channel_count");
  assert.equal(stats.schemaCount, file.schemas.length, "Statistics.schema_count");
  assert.equal(stats.attachmentCount, file.attachments.length, "Statistics.attachment_count");
  assert.equal(stats.metadataCount, file.metadata.length, "Statistics.metadata_count");
  assert.equal(stats.chunkCount, reader.chunkIndexes.length, "Statistics.chunk_count");
  assert.equal(streamed.chunks.length, reader.chunkIndexes.length, "chunks vs chunk indexes");
  const perChannel = new Map();
  for (const m of expected) perChannel.set(m.channelId, (perChannel.get(m.channelId) ?? 0n) + 1n);
  assert.deepEqual(mapToObject(stats.channelMessageCounts), mapToObject(perChannel));
  if (expected.length > 0) {
    const times = expected.map((m) => m.logTime);
    const min = times.reduce((a, b) => (b < a ? b : a));
    const max = times.reduce((a, b) => (b > a ? b : a));
    assert.equal(stats.messageStartTime, min, "Statistics.message_start_time");
    assert.equal(stats.messageEndTime, max, "Statistics.message_end_time");
  }

  checkEveryCrc(bytes, indexed, streamed);
  return { reader, streamed };
}

describe("files written by mcaprec open in the official TypeScript readers", () => {
  for (const codec of ["zstd", "lz4", "none"]) {
    test(`codec ${codec}: several chunks, every chunk compressed with ${codec}`, async () => {
      const file = manifest.files.find((f) => f.file === `codec_${codec}.mcap`);
      const { reader } = await checkFile(file);
      assert.ok(reader.chunkIndexes.length > 10, `only ${reader.chunkIndexes.length} chunks`);
      const stored = codec === "none" ? "" : codec;
      for (const index of reader.chunkIndexes) {
        assert.equal(index.compression, stored, "chunk compression");
        if (codec !== "none") assert.ok(index.compressedSize < index.uncompressedSize);
      }
    });
  }

  test("attachments and metadata", async () => {
    await checkFile(manifest.files.find((f) => f.file === "attachments_metadata.mcap"));
  });

  test("1,000 channels", async () => {
    const { reader } = await checkFile(manifest.files.find((f) => f.file === "many_channels.mcap"));
    assert.equal(reader.channelsById.size, 1000);
    assert.ok(reader.chunkIndexes.length > 1);
  });

  test("empty and 8 MiB messages", async () => {
    await checkFile(manifest.files.find((f) => f.file === "large_and_empty.mcap"));
  });

  test("out-of-order log times across overlapping chunks", async () => {
    const { reader } = await checkFile(manifest.files.find((f) => f.file === "out_of_order.mcap"));
    assert.ok(reader.chunkIndexes.length > 2);
  });

  test("the manifest names every file the writer produced", () => {
    assert.equal(manifest.files.length, 7);
  });
});

// The same files rewritten by `mcaprec convert` with each codec: channel ids may change, so
// messages are matched by topic; everything else must survive exactly, with every CRC right.
describe("mcaprec convert of mcaprec's own samples opens in the official readers", () => {
  const names = [
    "codec_zstd.mcap",
    "attachments_metadata.mcap",
    "many_channels.mcap",
    "large_and_empty.mcap",
    "out_of_order.mcap",
  ];
  for (const name of names) {
    for (const codec of ["zstd", "lz4", "none"]) {
      test(`${name} -> --compression ${codec}`, async () => {
        const file = manifest.files.find((f) => f.file === name);
        const out = join(dir, `${name}.${codec}.mcap`);
        const result = run(toolPath(), ["convert", join(dir, name), out, "--compression", codec]);
        assert.equal(result.status, 0, `mcaprec convert failed:\n${result.stdout}${result.stderr}`);
        const { bytes, indexed, streamed } = await readBoth(out);
        checkEveryCrc(bytes, indexed, streamed);

        const withoutIds = (m) => ({ ...m, channelId: 0 });
        const expected = expectedMessages(file).map(withoutIds).sort(byTimeTopicSequence);
        assertSameMessages(
          indexed.messages.map(withoutIds).sort(byTimeTopicSequence),
          expected,
          "McapIndexedReader",
        );
        assertSameMessages(
          streamed.messages.map(withoutIds).sort(byTimeTopicSequence),
          expected,
          "McapStreamReader",
        );
        assertAttachments(indexed.attachments, file, "McapIndexedReader");
        assertAttachments(streamed.attachments, file, "McapStreamReader");
        const users = (list) => list.filter((m) => !m.name.startsWith("mcaprec"));
        assertMetadata(users(indexed.metadata), file, "McapIndexedReader");
        assertMetadata(users(streamed.metadata), file, "McapStreamReader");

        const byTopic = new Map([...indexed.reader.channelsById.values()].map((c) => [c.topic, c]));
        assert.equal(byTopic.size, file.channels.length, "channel count");
        for (const c of file.channels) {
          const got = byTopic.get(c.topic);
          assert.ok(got, `channel ${c.topic} missing`);
          assert.equal(got.messageEncoding, c.message_encoding, `${c.topic}: message encoding`);
          const what = `${c.topic}: metadata`;
          assert.deepEqual(mapToObject(got.metadata), sortedObject(c.metadata), what);
          const schema = file.schemas.find((x) => x.id === c.schema_id);
          const gotSchema = indexed.reader.schemasById.get(got.schemaId);
          assert.equal(gotSchema?.name, schema?.name, `${c.topic}: schema name`);
          assert.equal(gotSchema?.encoding, schema?.encoding, `${c.topic}: schema encoding`);
          if (schema) assert.equal(new TextDecoder().decode(gotSchema.data), schema.data);
        }
        const stored = codec === "none" ? "" : codec;
        for (const chunk of indexed.reader.chunkIndexes) {
          const what = `chunk compression ${chunk.compression}`;
          assert.ok([stored, ""].includes(chunk.compression), what);
        }
      });
    }
  }
});
