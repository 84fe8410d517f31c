// Reading MCAP files with the official TypeScript readers, every CRC checked, and the few CRC
// checks those readers leave out (data section CRC; "is every CRC field filled in") done here;
// and handing a test's planned messages to the official writer.
import assert from "node:assert/strict";
import { open, readFile } from "node:fs/promises";
import { crc32 } from "node:zlib";

import { McapIndexedReader, McapStreamReader } from "@mcap/core";
import { FileHandleReadable } from "@mcap/nodejs";
import { loadDecompressHandlers } from "@mcap/support";

const kFooterAndMagicSize = 9 + 20 + 8;

// McapIndexedReader over the file: summary (CRC checked at Initialize), every message and
// attachment with CRC validation, every metadata record.
export async function readIndexed(path) {
  const handle = await open(path, "r");
  try {
    const reader = await McapIndexedReader.Initialize({
      readable: new FileHandleReadable(handle),
      decompressHandlers: await loadDecompressHandlers(),
    });
    const messages = [];
    for await (const m of reader.readMessages({ validateCrcs: true })) {
      messages.push({ ...m, topic: reader.channelsById.get(m.channelId)?.topic });
    }
    const attachments = [];
    for await (const a of reader.readAttachments({ validateCrcs: true })) attachments.push(a);
    const metadata = [];
    for await (const m of reader.readMetadata()) metadata.push(m);
    return { reader, messages, attachments, metadata };
  } finally {
    await handle.close();
  }
}

// McapStreamReader over the bytes, fed in `pieceSize` slices as a socket would deliver them,
// with chunk and attachment CRCs validated. Returns the records by type in file order.
export async function readStream(bytes, pieceSize = 65536) {
  const reader = new McapStreamReader({
    decompressHandlers: await loadDecompressHandlers(),
    validateCrcs: true,
    includeChunks: true,
  });
  const byType = new Map();
  const messages = [];
  const channels = new Map();
  let dataEnded = false;
  for (let at = 0; at < bytes.length; at += pieceSize) {
    reader.append(bytes.subarray(at, Math.min(at + pieceSize, bytes.length)));
    for (let record; (record = reader.nextRecord()); ) {
      if (!byType.has(record.type)) byType.set(record.type, []);
      byType.get(record.type).push(record);
      if (record.type === "DataEnd") dataEnded = true;
      if (record.type === "Channel" && !dataEnded) channels.set(record.id, record);
      if (record.type === "Message") {
        assert.ok(!dataEnded, "Message after DataEnd");
        messages.push({ ...record, topic: channels.get(record.channelId)?.topic });
      }
    }
  }
  assert.ok(reader.done(), "stream reader did not reach a valid footer");
  const get = (type) => byType.get(type) ?? [];
  return {
    messages,
    channels,
    chunks: get("Chunk"),
    attachments: get("Attachment"),
    metadata: get("Metadata"),
    dataEnd: get("DataEnd")[0],
    footer: get("Footer")[0],
    get,
  };
}

// Every CRC field of the file is non-zero and right: the readers above already checked chunk,
// attachment and summary CRCs when non-zero; this adds "non-zero" and the data section CRC.
export function checkEveryCrc(bytes, indexed, streamed) {
  const { reader } = indexed;
  const footerOffset = bytes.length - kFooterAndMagicSize;
  assert.notEqual(reader.footer.summaryCrc, 0, "Footer.summary_crc is 0");
  const summaryStart = Number(reader.footer.summaryStart);
  const summaryFrom = summaryStart === 0 ? footerOffset : summaryStart;
  assert.equal(
    crc32(bytes.subarray(summaryFrom, footerOffset + 9 + 16)),
    reader.footer.summaryCrc,
    "summary CRC",
  );
  assert.ok(reader.dataSectionCrc, "DataEnd.data_section_crc is 0");
  assert.equal(
    crc32(bytes.subarray(0, Number(reader.dataEndOffset))),
    reader.dataSectionCrc,
    "data section CRC",
  );
  for (const chunk of streamed.chunks) {
    assert.notEqual(chunk.uncompressedCrc, 0, "a Chunk has uncompressed_crc 0");
  }
  for (const index of reader.attachmentIndexes) {
    const end = Number(index.offset + index.length);
    const crc = Buffer.from(bytes.buffer, bytes.byteOffset + end - 4, 4).readUInt32LE(0);
    assert.notEqual(crc, 0, `attachment ${index.name} has crc 0`);
  }
}

export async function readBoth(path) {
  const bytes = new Uint8Array(await readFile(path));
  const indexed = await readIndexed(path);
  const streamed = await readStream(bytes);
  return { bytes, indexed, streamed };
}

// Sort key that makes message lists from different readers comparable.
export function byTimeTopicSequence(a, b) {
  if (a.logTime !== b.logTime) return a.logTime < b.logTime ? -1 : 1;
  if (a.topic !== b.topic) return a.topic < b.topic ? -1 : 1;
  return a.sequence - b.sequence;
}

export function mapToObject(map) {
  return Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function sortedObject(object) {
  return mapToObject(new Map(Object.entries(object)));
}

// Adds `message` of a test's plan ({ channel, sequence, logTime, publishTime, data }) to an
// official McapWriter, on the writer's channel id for message.channel.
export function addPlannedMessage(writer, channelIds, message) {
  return writer.addMessage({
    channelId: channelIds[message.channel],
    sequence: message.sequence,
    logTime: message.logTime,
    publishTime: message.publishTime,
    data: message.data,
  });
}
