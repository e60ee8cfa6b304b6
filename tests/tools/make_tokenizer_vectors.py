#!/usr/bin/python3
"""Fixture vocabularies and test vectors for core/hf's tokenizers (tests/core/tst_hftokenizer.cpp).

The expected pieces come from the original public reference implementations, run unchanged on the developer's
machine and never committed: Google's BERT `tokenization.py` (FullTokenizer) and OpenAI's GPT-2 `src/encoder.py`
(Encoder). This script imports them from the paths given and commits only their output.

How it was run (Debian 12; /usr/bin/python3 3.11 with python3-regex 2022.10 and python3-six from apt; `zstd` CLI):

    git show HEAD:tokenization.py   # in google-research/bert at eedf5716ce1268e56f0a50264a88cafad334ac61
    git show HEAD:src/encoder.py    # in openai/gpt-2 at 9b63575ef42771a015060c964af2c3da4cf7c8ab
    /usr/bin/python3 tests/tools/make_tokenizer_vectors.py /tmp/ref/tokenization.py /tmp/ref/encoder.py \
        --data ../shared/data/arxiv --out tests/fixtures/hf

It writes into --out:
  wordpiece/vocab.txt, wordpiece/tokenizer.json, wordpiece/tokenizer_config.json
      a small lower-case WordPiece vocabulary learnt from the 5k sample (specials, characters, frequent words,
      frequent word starts and "##" continuations), and the same tokenizer in tokenizers' tokenizer.json format;
  bytebpe/vocab.json, bytebpe/merges.txt, bytebpe/tokenizer.json
      a byte-level BPE with a few thousand merges learnt from the 5k sample by plain BPE training over GPT-2's
      pre-tokenizer words, RoBERTa's specials (<s> 0, <pad> 1, </s> 2, <unk> 3, <mask> last);
  bytebpe-across/vocab.json, bytebpe-across/merges.txt
      a merge for the two characters around each of GPT-2's word boundaries in the edge cases, then merges learnt
      on the edge cases as whole texts, so that the pieces show where the pre-tokenizer cut (with bytebpe's
      vocabulary most boundaries change no piece);
  vectors.jsonl.zst
      one JSON object per text: {"id", "field"} for a paper's title or abstract in arxiv-dev.jsonl.zst (the text is
      not committed; the test reads it from ../shared/data), or {"text"} for an edge case written here; then
      "wp": the ids of FullTokenizer(do_lower_case=True).tokenize; "wpc": do_lower_case=False, same vocabulary,
      for titles and edge cases only; "bpe": the byte length of each piece of Encoder.encode, one base-36 digit
      a piece ("3a1" is 3, 10 and 1 bytes); "bpex" (edge cases only): the byte lengths of bytebpe-across's
      pieces, a list.
      WordPiece ids only: the script checks that id -> piece is one-to-one, so the pieces are exactly the
      vocabulary's line [id]. BPE lengths only: byte-level pieces are the text's UTF-8 bytes cut in a row, so the
      text and the lengths give the pieces (bytes_to_unicode of each slice) and their ids back; the script checks
      that they give back exactly Encoder.encode's ids. Both keep the file near 1 MB: full ids of every text
      for three tokenizations took 2 MB.

Two settings differ from the reference files' defaults, on purpose:
  - WordpieceTokenizer.max_input_chars_per_word is set to 100 (Google's default is 200): 100 is what transformers'
    BertTokenizer and tokenizers' WordPiece use, i.e. what the Hugging Face checkpoints are tokenized with.
  - tokenization.py imports TensorFlow only for tf.gfile.GFile; a stand-in module whose GFile is open() replaces it.
"""
import argparse
import collections
import heapq
import importlib.util
import json
import random
import subprocess
import sys
import types
import unicodedata
from pathlib import Path

SEED = 20260801
WP_WORDS = 1500          # whole words in the WordPiece vocabulary
WP_STARTS = 700          # word starts (2-6 chars)
WP_CONTS = 900           # "##" continuations (2-5 chars)
WP_MIN_CHAR = 3          # a character seen fewer times is left out, so some words become [UNK]
BPE_MERGES = 2500
LENGTH_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"  # a BPE piece's byte length, one character each

# Hand-written edge cases, tokenized by the references like the papers.
EDGE_CASES = [
    "", " ", "   ", "\t", "\n", " \t\n\r ", "a", "A", "abc  ", "  leading spaces", "a  b   c    d",
    "\x00\x01abc\x7f def\x1f", "\ufffd", "x\ufffdy", "\x0b\x0c vertical tab and form feed", "next\x85line",
    "Hello, World!", "don't you're we've I'm he'll she'd it's", "'s's 's 'S", "DON'T WON'T", "''s '' ' s",
    "rock 'n' roll", "IT'S HE'LL WE'VE THEY'RE I'M SHE'D", "it's' x'sy 'll' ''ll 're're o'clock rock'n'roll", "\u2019s curly apostrophe\u2019s",
    "\u4e2d\u6587\u5b57\u7b26\u6d4b\u8bd5 and \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\u4e2d\u6587abc\u5b57def", "\U00020000\U0002a700 ext-B/C",
    "\uf900\ufa0b compatibility ideographs",
    "emoji \U0001f600\U0001f44d\U0001f3fd \U0001f1e9\U0001f1ea \U0001f468\u200d\U0001f469\u200d\U0001f467 \u263a\ufe0f",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9", "cafe\u0301 nai\u0308ve", "e\u0301\u0301\u0301", "\u0301 starts combining",
    "\u0301\u0308", "CAF\u00c9 \u00c0 LA CR\u00c8ME", "Tie\u0302\u0301ng Vi\u1ec7t", "\u00c5ngstr\u00f6m \u212b",
    "a" * 99, "a" * 100, "a" * 101, "b" * 150, "supercalifragilistic" * 6, "x" * 99 + "\u00e9",
    "3.14159 1,000,000 2024-01-01 \u00bd \u00b2 \u0663\u0664 \u2167 \U0001d7d9",
    "a\tb\nc\r\nd\re", "tab\t\tdouble\n\nnewline \n\n x", "word \n", "word\n ", "end with spaces   ",
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u05e2\u05d1\u05e8\u05d9\u05ea "
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0939\u093f\u0928\u094d\u0926\u0940 \u0e44\u0e17\u0e22",
    "\u039f\u0394\u039f\u03a3 \u039f\u0394\u039f\u03a3\u0391 \u03a3 \u03a3\u0391\u03a3. \u0391\u03a3'",
    "\u0130stanbul \u0131 I\u0307", "Stra\u00dfe \u1e9e", "\ufb01 ligature \ufb03", "\uff21\uff22\uff23\uff11\uff12\uff13",
    "a\u200bb\u200dc\u200ed\u2060e", "line\u2028separator\u2029paragraph", "a\u00a0b\u202fc", "\u3000ideographic\u3000space",
    "\u1680ogham\u2003em space\u2009thin", "$\\mathbb{A}^1$ \\alpha_{i} $O(n^2)$ \\cite{foo}",
    "https://arxiv.org/abs/2501.00001v2 and user@example.com", "...!!!??? --- ((()))", "@#$%^&*()_+-=[]{}|;:,.<>/?`~",
    "x\u00b2+y\u00b2=z\u00b2 \u2264 \u2265 \u00b1 \u00d7 \u00f7", "\u210c \u2135 \u2211 \u222b \u2202 \u221e",
    "\u00ab guillemets \u00bb \u201cquotes\u201d \u2014 dash \u2013 \u2026", "\u00a7 \u00b6 \u00b0 \u00a9 \u00ae \u2122",
    "\u00a3 \u20ac \u00a5 $ \u00a2", "[CLS] [SEP] [MASK] [UNK] <s> </s> <mask> <pad>", "##ing ## #",
    "ALL CAPS TITLE", "CamelCaseWord iPhone McDonald's", "l\u2019\u00e9t\u00e9 d'\u00e9t\u00e9",
    "\u00a1Hola! \u00bfQu\u00e9?", "\u2460\u2461 \u2070 \u00bc", "\U0001d400\U0001d401 math bold", "\u0d9a\u0dca\u200d\u0dbb",
    "\u1100\u1161\u11a8 jamo", "\u30ab\u30bf\u30ab\u30ca \uff76\uff80\uff76\uff85", "mixed\u4e2d1\u6587\u00e92\U0001f600",
    "  \u0301", "x \u0301 y", "\u0301\u0301 \u0301", "'", "' ", " '", "  's", "\u2028", " \u2028 ", "\x00", "\x7f\x80\x9f",
]


def load_module(name, path, extra_modules=()):
    for mod_name, mod in extra_modules:
        sys.modules[mod_name] = mod
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_papers(data_dir):
    out = subprocess.run(["zstd", "-dc", str(data_dir / "arxiv-dev.jsonl.zst")], check=True, capture_output=True)
    return [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]


def sample_ids(data_dir):
    with open(data_dir / "arxiv-sample-5k.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f]


def choose_papers(papers, rng):
    """Papers picked for what they contain, then plain random ones; about 2,000 in all."""
    def text(p):
        return p["title"] + " " + p["abstract"]

    def rare(p):  # symbols and punctuation beyond ASCII, other than Greek and Latin letters
        return any(ord(c) > 127 and not unicodedata.category(c).startswith("L") for c in text(p))

    def accented(p):
        return any(0xC0 <= ord(c) <= 0x24F for c in text(p))

    def greek(p):
        return any(0x370 <= ord(c) <= 0x3FF for c in text(p))

    def tex(p):
        return "$" in text(p) or "\\" in text(p)

    def title_tex(p):
        return "$" in p["title"] or "\\" in p["title"]

    chosen, seen = [], set()

    def take(pred, n):
        pool = [p for p in papers if p["id"] not in seen and pred(p)]
        rng.shuffle(pool)
        for p in pool[:n]:
            seen.add(p["id"])
            chosen.append(p)

    take(rare, 250)
    take(accented, 350)
    take(greek, 350)
    take(title_tex, 200)
    take(tex, 200)
    take(lambda p: True, 720)
    chosen.sort(key=lambda p: p["id"])
    return chosen


def learn_wordpiece(bert, texts):
    lower = bert.BasicTokenizer(do_lower_case=True)
    cased = bert.BasicTokenizer(do_lower_case=False)
    words = collections.Counter()
    chars = collections.Counter()
    for t in texts:
        for w in lower.tokenize(t):
            words[w] += 1
        for w in cased.tokenize(t):
            chars.update(w)
    for w, n in words.items():
        for c in w:
            chars[c] += n
    vocab = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    have = set(vocab)

    def add(piece):
        if piece not in have:
            have.add(piece)
            vocab.append(piece)

    keep_chars = sorted(c for c, n in chars.items() if n >= WP_MIN_CHAR)
    for c in keep_chars:
        add(c)
    for c in keep_chars:
        add("##" + c)
    for w, _ in words.most_common(WP_WORDS):
        add(w)
    starts, conts = collections.Counter(), collections.Counter()
    for w, n in words.items():
        if w in have:
            continue
        for j in range(2, min(6, len(w)) + 1):
            starts[w[:j]] += n
        for i in range(1, len(w)):
            for j in range(i + 2, min(i + 5, len(w)) + 1):
                conts["##" + w[i:j]] += n
    for p, _ in starts.most_common(WP_STARTS):
        add(p)
    for p, _ in conts.most_common(WP_CONTS):
        add(p)
    return vocab


def learn_bpe(gpt2, texts, max_merges=BPE_MERGES, min_count=2, pretokenize=True):
    """Plain BPE training (most frequent pair first, ties by a fixed order), with pair counts kept up to date.
    Without pretokenize each text is one word, so merges also cross the pre-tokenizer's word boundaries."""
    enc = gpt2.Encoder(encoder={}, bpe_merges=[])
    byte_encoder = gpt2.bytes_to_unicode()
    counts = collections.Counter()
    for t in texts:
        for tok in gpt2.re.findall(enc.pat, t) if pretokenize else [t]:
            counts["".join(byte_encoder[b] for b in tok.encode("utf-8"))] += 1
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += freq[i]
            where[(a, b)].add(i)
    heap = [(-n, hash_order(p), p) for p, n in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < max_merges and heap:
        neg, _, best = heapq.heappop(heap)
        if pairs.get(best, 0) != -neg:
            continue  # a stale entry: the pair's count changed since it was pushed
        if -neg < min_count:
            break
        merges.append(best)
        a, b = best
        touched = set()
        for i in list(where[best]):
            w = words[i]
            for x, y in zip(w, w[1:]):
                pairs[(x, y)] -= freq[i]
                touched.add((x, y))
            out, k = [], 0
            while k < len(w):
                if k + 1 < len(w) and w[k] == a and w[k + 1] == b:
                    out.append(a + b)
                    k += 2
                else:
                    out.append(w[k])
                    k += 1
            words[i] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += freq[i]
                where[(x, y)].add(i)
                touched.add((x, y))
        where.pop(best, None)
        pairs.pop(best, None)
        for p in touched:
            n = pairs.get(p, 0)
            if n > 0:
                heapq.heappush(heap, (-n, hash_order(p), p))
            else:
                pairs.pop(p, None)
    symbols = [byte_encoder[b] for b in range(256)]
    vocab = ["<s>", "<pad>", "</s>", "<unk>"] + symbols
    have = set(vocab)
    for a, b in merges:
        if a + b not in have:
            have.add(a + b)
            vocab.append(a + b)
    vocab.append("<mask>")
    return vocab, merges


def hash_order(pair):  # a deterministic tie-break that does not depend on PYTHONHASHSEED
    return int.from_bytes((pair[0] + " " + pair[1]).encode("utf-8")[:8].ljust(8, b"\0"), "big")


def wordpiece_tokenizer_json(vocab):
    specials = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
    ids = {t: i for i, t in enumerate(vocab)}
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t in vocab if t in specials],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}},
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                                    {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                                    {"Sequence": {"id": "B", "type_id": 1}},
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                           "special_tokens": {t: {"id": t, "ids": [ids[t]], "tokens": [t]}
                                              for t in ("[CLS]", "[SEP]")}},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


def bpe_tokenizer_json(vocab, merges):
    ids = {t: i for i, t in enumerate(vocab)}
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": ids[t], "content": t, "single_word": False, "lstrip": t == "<mask>",
                          "rstrip": False, "normalized": False, "special": True} for t in specials],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0],
                           "trim_offsets": True, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": ids, "merges": [a + " " + b for a, b in merges]},
    }


def write_json(path, obj, compact=False):
    with open(path, "w", encoding="utf-8") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bert_tokenization_py")
    ap.add_argument("gpt2_encoder_py")
    ap.add_argument("--data", type=Path, required=True, help="the arxiv folder of ../shared/data")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    tf = types.ModuleType("tensorflow")
    tf.gfile = types.SimpleNamespace(GFile=open)
    bert = load_module("bert_tokenization", args.bert_tokenization_py, [("tensorflow", tf)])
    gpt2 = load_module("gpt2_encoder", args.gpt2_encoder_py)

    papers = read_papers(args.data)
    by_id = {p["id"]: p for p in papers}
    train = [by_id[i] for i in sample_ids(args.data)]
    train_texts = [t for p in train for t in (p["title"], p["abstract"])]

    wp_dir, bpe_dir = args.out / "wordpiece", args.out / "bytebpe"
    wp_dir.mkdir(parents=True, exist_ok=True)
    bpe_dir.mkdir(parents=True, exist_ok=True)

    wp_vocab = learn_wordpiece(bert, train_texts)
    with open(wp_dir / "vocab.txt", "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in wp_vocab))
    write_json(wp_dir / "tokenizer_config.json", {"do_lower_case": True, "tokenizer_class": "BertTokenizer",
                                                  "model_max_length": 512})
    write_json(wp_dir / "tokenizer.json", wordpiece_tokenizer_json(wp_vocab), compact=True)

    bpe_vocab, merges = learn_bpe(gpt2, train_texts)
    write_json(bpe_dir / "vocab.json", {t: i for i, t in enumerate(bpe_vocab)}, compact=True)
    with open(bpe_dir / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(a + " " + b + "\n" for a, b in merges))
    write_json(bpe_dir / "tokenizer.json", bpe_tokenizer_json(bpe_vocab, merges), compact=True)
    # Merges learnt on the edge cases as whole texts: they join across the pre-tokenizer's word boundaries, so a
    # boundary put elsewhere than GPT-2's pattern puts it shows in the pieces (with the vocabulary above, most
    # boundaries are invisible: few merges join an apostrophe or a space run to what follows).
    words_dir = args.out / "bytebpe-across"
    words_dir.mkdir(parents=True, exist_ok=True)
    across_vocab, across_merges = learn_bpe(gpt2, EDGE_CASES, max_merges=10 ** 6, min_count=1, pretokenize=False)
    # First of all, a merge for the two characters on either side of each of GPT-2's boundaries in the edge cases,
    # so that a word that runs over one gets a piece that GPT-2 never gives.
    byte_encoder, pat = gpt2.bytes_to_unicode(), gpt2.Encoder(encoder={}, bpe_merges=[]).pat
    boundary = []
    for text in EDGE_CASES:
        words = ["".join(byte_encoder[b] for b in w.encode("utf-8")) for w in gpt2.re.findall(pat, text)]
        for left, right in zip(words, words[1:]):
            if (left[-1], right[0]) not in boundary:
                boundary.append((left[-1], right[0]))
    across_merges = boundary + [m for m in across_merges if m not in boundary]
    across_vocab = across_vocab[:-1] + [a + b for a, b in boundary if a + b not in across_vocab] + ["<mask>"]
    write_json(words_dir / "vocab.json", {t: i for i, t in enumerate(across_vocab)}, compact=True)
    with open(words_dir / "merges.txt", "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(a + " " + b + "\n" for a, b in across_merges))

    # The references, loaded from the files just written, as their own loaders read them.
    wp_lower = bert.FullTokenizer(str(wp_dir / "vocab.txt"), do_lower_case=True)
    wp_cased = bert.FullTokenizer(str(wp_dir / "vocab.txt"), do_lower_case=False)
    for t in (wp_lower, wp_cased):
        t.wordpiece_tokenizer.max_input_chars_per_word = 100
    with open(bpe_dir / "vocab.json", encoding="utf-8") as f:
        encoder = json.load(f)
    with open(bpe_dir / "merges.txt", encoding="utf-8") as f:
        bpe_merges = [tuple(m.split()) for m in f.read().split("\n")[1:-1]]
    bpe = gpt2.Encoder(encoder=encoder, bpe_merges=bpe_merges)
    with open(words_dir / "vocab.json", encoding="utf-8") as f:
        across_encoder = json.load(f)
    with open(words_dir / "merges.txt", encoding="utf-8") as f:
        bpe_across = gpt2.Encoder(encoder=across_encoder,
                                  bpe_merges=[tuple(m.split()) for m in f.read().split("\n")[1:-1]])
    assert len(wp_lower.vocab) == len(wp_vocab) and len(encoder) == len(bpe_vocab)

    def lengths_of(enc, text):  # BPE pieces as byte lengths, checked to give the ids back
        ids = enc.encode(text)
        lengths = [len(enc.decoder[i]) for i in ids]
        raw, pos, again = text.encode("utf-8"), 0, []
        for n in lengths:
            again.append(enc.encoder["".join(enc.byte_encoder[b] for b in raw[pos:pos + n])])
            pos += n
        assert again == ids and pos == len(raw)
        return lengths

    def vector(text, cased):
        out = {}
        for key, tok in (("wp", wp_lower), ("wpc", wp_cased)) if cased else (("wp", wp_lower),):
            pieces = tok.tokenize(text)
            ids = tok.convert_tokens_to_ids(pieces)
            assert tok.convert_ids_to_tokens(ids) == pieces
            out[key] = ids
        # Byte-level BPE's pieces are the text's bytes cut in a row: their lengths and the text give them back.
        lengths = lengths_of(bpe, text)
        assert max(lengths, default=0) < len(LENGTH_DIGITS)
        out["bpe"] = "".join(LENGTH_DIGITS[n] for n in lengths)
        return out

    rng = random.Random(SEED)
    chosen = choose_papers(papers, rng)
    lines = []
    for text in EDGE_CASES:
        lines.append({"text": text, **vector(text, True), "bpex": lengths_of(bpe_across, text)})
    for p in chosen:
        for field in ("title", "abstract"):
            lines.append({"id": p["id"], "field": field, **vector(p[field], field == "title")})
    raw = "".join(json.dumps(l, ensure_ascii=False, separators=(",", ":")) + "\n" for l in lines).encode("utf-8")
    target = args.out / "vectors.jsonl.zst"
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", str(target)], input=raw, check=True)
    n_wp = sum(len(l["wp"]) for l in lines)
    n_wpc = sum(len(l.get("wpc", [])) for l in lines)
    n_bpe = sum(len(l["bpe"]) for l in lines)
    print(f"{len(EDGE_CASES)} edge cases, {len(chosen)} papers, {len(lines)} texts; {n_wp} lower-case and "
          f"{n_wpc} cased WordPiece pieces, {n_bpe} BPE pieces; WordPiece vocabulary {len(wp_vocab)}, BPE vocabulary {len(bpe_vocab)} "
          f"({len(merges)} merges); {target}: {target.stat().st_size} bytes from {len(raw)}")


if __name__ == "__main__":
    main()
