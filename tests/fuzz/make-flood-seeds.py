#!/usr/bin/env python3
"""Writes the XML flood seeds (issue 16) into the fuzz corpora: documents that cost an
unbounded libxml2 parse seconds (attributes checked against each other, a flood behind a
well-formedness error, namespace lookups, deep nesting) and that the bounded scan
(common/wire/xml_bounds.hpp) refuses at once. Each replay and fuzz run fails an input that
takes longer than its per-input limit, so these stay cheap or the run fails.

    tests/fuzz/make-flood-seeds.py [CORPUS_DIR]

Idempotent: file names are fixed (flood-*).
"""
import os
import sys

HEAD = ('<lrmd_command t="lrmd" lrmd_op="lrmd_rsc_exec" lrmd_remote_msg_id="1" lrmd_remote_msg_type="request" '
        'lrmd_callid="1" lrmd_callopt="4" lrmd_timeout="20000"><lrmd_calldata><lrmd_rsc lrmd_rsc_id="r" '
        'lrmd_rsc_action="start" lrmd_rsc_interval="0" lrmd_timeout="20000">')
TAIL = '</lrmd_rsc></lrmd_calldata></lrmd_command>'


def attrs(count, prefix="p"):
    return "".join(' %s%d=""' % (prefix, i) for i in range(count))


def exec_wrap(inner):
    return HEAD + inner + TAIL


def message_floods():
    ns = 512
    ns_inner = "<attributes" + "".join(' xmlns:n%d="urn:%d"' % (i, i) for i in range(ns)) + ">"
    ns_inner += ("<e" + "".join(' n%d:a=""' % i for i in range(ns)) + "/>") * 64 + "</attributes>"
    return {
        "flood-attributes": exec_wrap("<attributes" + attrs(30000) + "/>"),
        "flood-after-error": exec_wrap("<x></y><attributes" + attrs(30000) + "/>"),
        "flood-namespaces": exec_wrap(ns_inner),
        "flood-depth": exec_wrap("<attributes>" + "<d>" * 10000 + "</d>" * 10000 + "</attributes>"),
        "flood-wide-elements": exec_wrap("<attributes>" + ("<w" + attrs(1000, "a") + "/>") * 30 + "</attributes>"),
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    seeds = {}
    floods = message_floods()
    for target in ("fuzz-message", "fuzz-dispatch", "fuzz-local-dispatch"):
        names = floods if target == "fuzz-message" else ("flood-attributes", "flood-after-error", "flood-depth")
        for name in names:
            seeds[(target, name)] = floods[name]
    # Tree-building parses: libxml2's tree builder is slower per attribute pair than SAX.
    seeds[("fuzz-cib-request", "flood-attributes")] = '<cib_command cib_op="cib_query"' + attrs(6000) + "/>"
    seeds[("fuzz-cib", "flood-attributes")] = '<cib epoch="1"' + attrs(10000) + "><configuration/></cib>"
    for (target, name), text in seeds.items():
        path = os.path.join(root, target, name)
        with open(path, "w") as f:
            f.write(text)
        print("%s %d bytes" % (path, len(text)))


if __name__ == "__main__":
    main()
