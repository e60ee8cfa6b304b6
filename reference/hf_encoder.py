#!/usr/bin/env python3
"""A reference of Hugging Face's BERT and RoBERTa encoders in plain PyTorch, written from transformers' published
modelling code (modeling_bert.py, modeling_roberta.py: BertEmbeddings, BertSelfAttention, BertLayer, BertPooler,
BertForSequenceClassification, RobertaClassificationHead), with a safetensors reader and writer of a few lines.
Labbook's tests compare its C++ encoder with this one (tests/engine/tst_encoder.cpp); bench_engine times both.

Runs with Debian's python3-torch (1.13) and the standard library; transformers is not needed.

  hf_encoder.py make --family bert|roberta --out DIR [--seed N] [--labels N] [--layers N] [--hidden N] ...
      A tiny checkpoint folder with random weights in transformers' layout: config.json, model.safetensors and a
      tokenizer (vocab.txt; or vocab.json + merges.txt).
  hf_encoder.py forward --folder DIR --ids IDS.json --out OUT.json
      IDS.json: a list of token id lists (padded here on the right). OUT.json: {"hidden": [B][L][H] of the last
      layer (real tokens only), "logits": [B][K] when the folder has a classifier head}.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, t in header.items():
        b, e = t["data_offsets"]
        raw = bytearray(data[8 + n + b:8 + n + e])
        out[name] = torch.frombuffer(raw, dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).clone() if e > b else \
            torch.zeros(t["shape"], dtype=DTYPES[t["dtype"]])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


ACT = {"gelu": F.gelu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
       "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"), "relu": F.relu}


class Encoder:
    """transformers' BertModel / RobertaModel in eval mode (no dropout), over a state dict with its names."""

    def __init__(self, config, weights):
        self.c, self.w = config, weights
        self.roberta = config["model_type"] == "roberta"
        self.prefix = "roberta." if self.roberta else "bert."
        if not any(k.startswith(self.prefix) for k in weights):  # a bare BertModel's names
            self.w = {self.prefix + k: v for k, v in weights.items()}
            self.w.update(weights)

    def p(self, name):
        return self.w[self.prefix + name].float()

    def linear(self, x, name):
        return F.linear(x, self.p(name + ".weight"), self.p(name + ".bias"))

    def norm(self, x, name):
        eps = self.c.get("layer_norm_eps", 1e-12)
        return F.layer_norm(x, (x.shape[-1],), self.p(name + ".weight"), self.p(name + ".bias"), eps)

    def embeddings(self, ids, mask):
        if self.roberta:  # create_position_ids_from_input_ids: pads keep the padding index
            pad = self.c.get("pad_token_id", 1)
            positions = (torch.cumsum(mask, dim=1) * mask) + pad
        else:
            positions = torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
        types = torch.zeros_like(ids)
        x = F.embedding(ids, self.p("embeddings.word_embeddings.weight")) + \
            F.embedding(positions, self.p("embeddings.position_embeddings.weight")) + \
            F.embedding(types, self.p("embeddings.token_type_embeddings.weight"))
        return self.norm(x, "embeddings.LayerNorm")

    def layer(self, x, ext, i):
        n = f"encoder.layer.{i}."
        heads = self.c["num_attention_heads"]
        b, l, h = x.shape
        d = h // heads

        def split(t):
            return t.view(b, l, heads, d).permute(0, 2, 1, 3)

        q, k, v = (split(self.linear(x, n + "attention.self." + w)) for w in ("query", "key", "value"))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + ext
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).permute(0, 2, 1, 3).reshape(b, l, h)
        attn = self.norm(self.linear(ctx, n + "attention.output.dense") + x, n + "attention.output.LayerNorm")
        inner = ACT[self.c.get("hidden_act", "gelu")](self.linear(attn, n + "intermediate.dense"))
        return self.norm(self.linear(inner, n + "output.dense") + attn, n + "output.LayerNorm")

    def forward(self, ids, mask):
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.embeddings(ids, mask)
        for i in range(self.c["num_hidden_layers"]):
            x = self.layer(x, ext, i)
        return x

    def classify(self, hidden):
        """BertForSequenceClassification / RobertaForSequenceClassification in eval mode; None without a head."""
        if self.roberta:
            if "classifier.out_proj.weight" not in self.w:
                return None
            x = torch.tanh(F.linear(hidden[:, 0], self.w["classifier.dense.weight"], self.w["classifier.dense.bias"]))
            return F.linear(x, self.w["classifier.out_proj.weight"], self.w["classifier.out_proj.bias"])
        if "classifier.weight" not in self.w:
            return None
        pooled = torch.tanh(self.linear(hidden[:, 0], "pooler.dense"))
        return F.linear(pooled, self.w["classifier.weight"], self.w["classifier.bias"])


def load(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    return Encoder(config, read_safetensors(os.path.join(folder, "model.safetensors")))


def forward(folder, id_lists):
    enc = load(folder)
    pad = enc.c.get("pad_token_id", 0)
    longest = max(len(x) for x in id_lists)
    ids = torch.tensor([x + [pad] * (longest - len(x)) for x in id_lists])
    mask = torch.tensor([[1] * len(x) + [0] * (longest - len(x)) for x in id_lists])
    with torch.no_grad():
        hidden = enc.forward(ids, mask)
        logits = enc.classify(hidden)
    out = {"hidden": [hidden[i, :len(x)].tolist() for i, x in enumerate(id_lists)]}
    if logits is not None:
        out["logits"] = logits.tolist()
    return out


# ----- tiny random checkpoints -----

def bytes_to_unicode():
    """GPT-2's table of the 256 byte values to printable characters."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


WORDS = ["the", "of", "a", "model", "graph", "neural", "network", "learning", "quantum", "field", "theory", "data",
         "deep", "language", "we", "and", "for", "in", "on", "to", "is", "with", "energy", "galaxy", "star", "paper"]


def write_tokenizer(folder, family):
    if family == "bert":
        pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz0123456789.,;:()-$\\^_{}") \
            + ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"] + WORDS + ["##ing", "##s", "##ed", "##er"]
        with open(os.path.join(folder, "vocab.txt"), "w") as f:
            f.write("\n".join(pieces) + "\n")
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
        return len(pieces)
    table = bytes_to_unicode()
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for b in range(256):
        vocab[table[b]] = len(vocab)
    merges = []
    for w in WORDS:  # merge each word left to right, after a space ("Ġ")
        cur = "\u0120" + w[0]
        merges.append(("\u0120", w[0]))
        for ch in w[1:]:
            merges.append((cur, ch))
            cur += ch
    seen, ordered = set(), []
    for m in merges:
        if m not in seen:
            seen.add(m)
            ordered.append(m)
            vocab.setdefault(m[0] + m[1], len(vocab))
    vocab["<mask>"] = len(vocab)
    with open(os.path.join(folder, "vocab.json"), "w") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in ordered))
    return len(vocab)


def make(args):
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    vocab = write_tokenizer(args.out, args.family)
    roberta = args.family == "roberta"
    h, ff = args.hidden, args.intermediate
    config = {"model_type": args.family, "architectures": ["RobertaModel" if roberta else "BertModel"],
              "vocab_size": vocab, "hidden_size": h, "num_hidden_layers": args.layers,
              "num_attention_heads": args.heads, "intermediate_size": ff, "hidden_act": args.act,
              "max_position_embeddings": args.positions + (2 if roberta else 0), "type_vocab_size": 1 if roberta else 2,
              "layer_norm_eps": 1e-5 if roberta else 1e-12, "pad_token_id": 1 if roberta else 0,
              "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02}
    prefix = "roberta." if roberta else "bert."
    w = {}

    def lin(name, i, o):
        w[name + ".weight"] = torch.randn(o, i) * 0.2
        w[name + ".bias"] = torch.randn(o) * 0.1

    def norm(name):
        w[name + ".weight"] = 1 + torch.randn(h) * 0.1
        w[name + ".bias"] = torch.randn(h) * 0.1

    w["embeddings.word_embeddings.weight"] = torch.randn(vocab, h)
    w["embeddings.position_embeddings.weight"] = torch.randn(config["max_position_embeddings"], h)
    w["embeddings.token_type_embeddings.weight"] = torch.randn(config["type_vocab_size"], h)
    norm("embeddings.LayerNorm")
    for i in range(args.layers):
        n = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            lin(n + "attention.self." + part, h, h)
        lin(n + "attention.output.dense", h, h)
        norm(n + "attention.output.LayerNorm")
        lin(n + "intermediate.dense", h, ff)
        lin(n + "output.dense", ff, h)
        norm(n + "output.LayerNorm")
    if not roberta:
        lin("pooler.dense", h, h)
    w = {prefix + k: v for k, v in w.items()}
    if args.labels > 0:
        config["architectures"] = ["RobertaForSequenceClassification" if roberta else "BertForSequenceClassification"]
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(args.labels)}
        config["label2id"] = {f"LABEL_{i}": i for i in range(args.labels)}
        if roberta:
            lin("classifier.dense", h, h)
            lin("classifier.out_proj", h, args.labels)
        else:
            lin("classifier", h, args.labels)
    if args.mlm_head:  # an unused pre-training head, as BertForMaskedLM checkpoints carry
        w["cls.predictions.bias"] = torch.zeros(vocab)
    if args.bare:  # BertModel.save_pretrained: no family prefix
        w = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in w.items()}
    write_safetensors(os.path.join(args.out, "model.safetensors"), w)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--family", choices=["bert", "roberta"], required=True)
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--layers", type=int, default=2)
    m.add_argument("--hidden", type=int, default=32)
    m.add_argument("--heads", type=int, default=4)
    m.add_argument("--intermediate", type=int, default=64)
    m.add_argument("--positions", type=int, default=64)
    m.add_argument("--act", default="gelu")
    m.add_argument("--labels", type=int, default=0)
    m.add_argument("--mlm-head", action="store_true")
    m.add_argument("--bare", action="store_true")
    f = sub.add_parser("forward")
    f.add_argument("--folder", required=True)
    f.add_argument("--ids", required=True)
    f.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.cmd == "make":
        make(args)
    else:
        with open(args.ids) as fh:
            ids = json.load(fh)
        with open(args.out, "w") as fh:
            json.dump(forward(args.folder, ids), fh)


if __name__ == "__main__":
    sys.exit(main())
