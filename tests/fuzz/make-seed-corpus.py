#!/usr/bin/env python3
"""Generates the seed corpora of the wire fuzz targets from the decoded 2.1.5 sessions.

    tests/fuzz/make-seed-corpus.py [TRANSCRIPT_DIR] [CORPUS_DIR]

Defaults: docs/transcripts and tests/fuzz/corpus of the repository this script is in.
Writes corpus/fuzz-message/ (one raw XML payload per distinct message) and
corpus/fuzz-frame/ (each message framed with its recorded header, whole sessions per
direction, a big-endian variant, a bzip2-compressed variant, and a few malformed
headers). Re-running it is idempotent; files are named by content hash so crash inputs
added by hand are kept.
"""
import bz2
import hashlib
import os
import re
import struct
import sys

MAGIC = 0xBADADBBD
HEADER = re.compile(
    r"^--- (?P<dir>\S+) endian=0x(?P<endian>[0-9A-Fa-f]+) version=(?P<version>\d+) id=(?P<id>\d+) "
    r"flags=(?P<flags>\d+) size_total=(?P<size_total>\d+) payload_offset=(?P<offset>\d+) "
    r"compressed=(?P<compressed>\d+) uncompressed=(?P<uncompressed>\d+)")


def header(order, msg_id, payload_len, compressed=0, uncompressed=None, offset=40, magic=MAGIC):
    if uncompressed is None:
        uncompressed = payload_len
    total = offset + payload_len
    return struct.pack(order + "IIQQIIII", magic, 1, msg_id, 0, total, offset, compressed, uncompressed)


def frame(xml, msg_id, order="<"):
    payload = xml.encode() + b"\0"
    return header(order, msg_id, len(payload)) + payload


def read_messages(path):
    """(direction, id, xml) for each message of a transcript. Frames are rebuilt from the
    XML text: some recorded sizes differ from the text (paths in the transcripts were
    shortened after capture), so the recorded sizes are not reused."""
    messages = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if not m or i + 1 >= len(lines):
            continue
        xml = lines[i + 1]
        if not xml.startswith("<"):
            sys.exit(f"{path}:{i + 2}: expected an XML payload after the header line")
        messages.append((m["dir"], int(m["id"]), xml))
    return messages


def write(directory, data, suffix=""):
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16] + suffix
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_transcripts = os.path.join(here, "..", "..", "docs", "transcripts")
    transcripts = sys.argv[1] if len(sys.argv) > 1 else default_transcripts
    corpus = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "corpus")
    message_dir = os.path.join(corpus, "fuzz-message")
    frame_dir = os.path.join(corpus, "fuzz-frame")

    everything = []
    for name in sorted(os.listdir(transcripts)):
        if name.endswith(".txt"):
            everything += read_messages(os.path.join(transcripts, name))
    if not everything:
        sys.exit(f"no messages found in {transcripts}")

    for _, msg_id, xml in everything:
        write(message_dir, xml.encode(), ".xml")
        write(frame_dir, frame(xml, msg_id))

    # Whole sessions per direction: many messages back to back.
    for direction in sorted({d for d, _, _ in everything}):
        stream = b"".join(frame(xml, i) for d, i, xml in everything if d == direction)
        write(frame_dir, stream)

    first = everything[0][2]
    longest = max((xml for _, _, xml in everything), key=len)
    # The other byte order.
    write(frame_dir, frame(first, 1, ">") + frame(longest, 2, ">"))
    # bzip2 payload, as 2.1.5 receivers accept.
    packed = bz2.compress(longest.encode() + b"\0")
    write(frame_dir, header("<", 3, len(packed), compressed=len(packed),
                            uncompressed=len(longest.encode()) + 1) + packed)
    # payload_offset past 40, with padding.
    payload = first.encode() + b"\0"
    write(frame_dir, header("<", 4, len(payload) + 8, uncompressed=len(payload), offset=48) + b"\x55" * 8 + payload)
    # Malformed: bad magic, missing NUL, truncated.
    write(frame_dir, header("<", 5, len(payload), magic=0x12345678) + payload)
    write(frame_dir, header("<", 6, len(payload)) + payload[:-1] + b"X")
    write(frame_dir, frame(first, 7)[:-10])

    print(f"{len(everything)} messages -> {message_dir}, {frame_dir}")


if __name__ == "__main__":
    main()
