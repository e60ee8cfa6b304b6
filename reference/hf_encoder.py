#!/usr/bin/env python3
"""A reference of Hugging Face's BERT and RoBERTa encoders in plain PyTorch, written from transformers' published
modelling code (modeling_bert.py, modeling_roberta.py: BertEmbeddings, BertSelfAttention, BertLayer, BertPooler,
BertForSequenceClassification, RobertaClassificationHead, BertForMaskedLM), with a safetensors reader and writer of a few lines.
Labbook's tests compare its C++ encoder with this one (tests/engine/tst_encoder.cpp); bench_engine times both.

Runs with Debian's python3-torch (1.13) and the standard library; transformers is not needed.

  hf_encoder.py make --family bert|roberta --out DIR [--seed N] [--labels N] [--layers N] [--hidden N] ...
      A tiny checkpoint folder with random weights in transformers' layout: config.json, model.safetensors (or with
      --weights bin|bin-legacy a pytorch_model.bin) and a tokenizer (vocab.txt; or vocab.json + merges.txt).
  hf_encoder.py forward --folder DIR --ids IDS.json --out OUT.json
      IDS.json: a list of token id lists (padded here on the right). OUT.json: {"hidden": [B][L][H] of the last
      layer (real tokens only), "logits": [B][K] when the folder has a classifier head; for a BertForMaskedLM
      folder "top5" and "top5_probs": [B][L][5], the five likeliest tokens at every position}.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn

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


class Embeddings(nn.Module):
    """BertEmbeddings / RobertaEmbeddings: word + position + token type (all type 0), LayerNorm, dropout."""

    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], h)
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], h)
        self.token_type_embeddings = nn.Embedding(c.get("type_vocab_size", 2), h)
        self.LayerNorm = nn.LayerNorm(h, eps=c.get("layer_norm_eps", 1e-12))
        self.dropout = nn.Dropout(c.get("hidden_dropout_prob", 0.1))
        self.roberta = c["model_type"] == "roberta"
        self.pad = c.get("pad_token_id", 1 if self.roberta else 0)

    def forward(self, ids, mask):
        if self.roberta:  # create_position_ids_from_input_ids: pads keep the padding index
            positions = (torch.cumsum(mask, dim=1) * mask) + self.pad
        else:
            positions = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0).expand_as(ids)
        x = self.word_embeddings(ids) + self.position_embeddings(positions) + \
            self.token_type_embeddings(torch.zeros_like(ids))
        return self.dropout(self.LayerNorm(x))


class Dense(nn.Module):
    """BertSelfOutput / BertOutput: dense, dropout, residual, LayerNorm (or BertIntermediate without a norm)."""

    def __init__(self, c, i, o, norm=True):
        super().__init__()
        self.dense = nn.Linear(i, o)
        if norm:
            self.LayerNorm = nn.LayerNorm(o, eps=c.get("layer_norm_eps", 1e-12))
            self.dropout = nn.Dropout(c.get("hidden_dropout_prob", 0.1))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
        self.dropout = nn.Dropout(c.get("attention_probs_dropout_prob", 0.1))

    def forward(self, x, ext):
        b, l, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, l, self.heads, d).permute(0, 2, 1, 3)

        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + ext
        probs = self.dropout(torch.softmax(scores, dim=-1))
        return torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(b, l, h)


class Layer(nn.Module):
    """BertLayer: attention.self, attention.output, intermediate, output (post-norm)."""

    def __init__(self, c):
        super().__init__()
        h, ff = c["hidden_size"], c["intermediate_size"]
        self.attention = nn.Module()
        self.attention.self = SelfAttention(c)
        self.attention.output = Dense(c, h, h)
        self.intermediate = Dense(c, h, ff, norm=False)
        self.output = Dense(c, ff, h)
        self.act = ACT[c.get("hidden_act", "gelu")]

    def forward(self, x, ext):
        out = self.attention.output
        a = out.LayerNorm(out.dropout(out.dense(self.attention.self(x, ext))) + x)
        inner = self.act(self.intermediate.dense(a))
        return self.output.LayerNorm(self.output.dropout(self.output.dense(inner)) + a)


class Encoder(nn.Module):
    """BertModel / RobertaModel (RoBERTa without a pooler, as in its sequence classifier)."""

    def __init__(self, c, pooler=True):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        if pooler:
            self.pooler = nn.Module()
            self.pooler.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, ids, mask):
        ext = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.embeddings(ids, mask)
        for layer in self.encoder.layer:
            x = layer(x, ext)
        return x


class SequenceClassifier(nn.Module):
    """BertForSequenceClassification (pooler, dropout, classifier) or RobertaForSequenceClassification
    (classifier.dense, tanh, classifier.out_proj over <s>); labels=0: the encoder alone."""

    def __init__(self, c, labels):
        super().__init__()
        self.roberta = c["model_type"] == "roberta"
        self.labels = labels
        setattr(self, "roberta" if self.roberta else "bert", Encoder(c, pooler=not self.roberta))
        self.dropout = nn.Dropout(c.get("hidden_dropout_prob", 0.1))
        if labels and self.roberta:
            self.classifier = nn.Module()
            self.classifier.dense = nn.Linear(c["hidden_size"], c["hidden_size"])
            self.classifier.out_proj = nn.Linear(c["hidden_size"], labels)
        elif labels:
            self.classifier = nn.Linear(c["hidden_size"], labels)

    def encode(self, ids, mask):
        return getattr(self, "roberta" if self.roberta else "bert")(ids, mask)

    def forward(self, ids, mask):
        hidden = self.encode(ids, mask)
        if not self.labels:
            return hidden, None
        first = hidden[:, 0]
        if self.roberta:
            x = torch.tanh(self.classifier.dense(self.dropout(first)))
            return hidden, self.classifier.out_proj(self.dropout(x))
        pooled = torch.tanh(self.bert.pooler.dense(first))
        return hidden, self.classifier(self.dropout(pooled))


class MaskedLM(nn.Module):
    """BertForMaskedLM: the encoder without a pooler and cls.predictions (transform.dense, the activation,
    transform.LayerNorm, then the decoder, whose weight is the word embeddings' unless the config says
    tie_word_embeddings: false, plus cls.predictions.bias)."""

    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.bert = Encoder(c, pooler=False)
        self.cls = nn.Module()
        self.cls.predictions = nn.Module()
        p = self.cls.predictions
        p.transform = nn.Module()
        p.transform.dense = nn.Linear(h, h)
        p.transform.LayerNorm = nn.LayerNorm(h, eps=c.get("layer_norm_eps", 1e-12))
        p.decoder = nn.Linear(h, c["vocab_size"], bias=False)
        p.bias = nn.Parameter(torch.zeros(c["vocab_size"]))
        self.act = ACT[c.get("hidden_act", "gelu")]

        self.tied = c.get("tie_word_embeddings", True)

    def forward(self, ids, mask):
        hidden = self.bert(ids, mask)
        p = self.cls.predictions
        x = p.transform.LayerNorm(self.act(p.transform.dense(hidden)))
        decoder = self.bert.embeddings.word_embeddings.weight if self.tied else p.decoder.weight
        return hidden, F.linear(x, decoder, p.bias)


def read_weights(folder):
    """model.safetensors, else pytorch_model.bin (torch.load, as transformers reads it); the position_ids buffer,
    which transformers ignores, left out."""
    def one(name):
        path = os.path.join(folder, name)
        return read_safetensors(path) if name.endswith(".safetensors") else dict(torch.load(path, map_location="cpu"))

    weights = {}
    for name in ("model.safetensors", "pytorch_model.bin"):
        if os.path.exists(os.path.join(folder, name)):
            weights = one(name)
            break
        if os.path.exists(os.path.join(folder, name + ".index.json")):
            with open(os.path.join(folder, name + ".index.json")) as f:
                for shard in dict.fromkeys(json.load(f)["weight_map"].values()):
                    weights.update(one(shard))
            break
    return {k: v for k, v in weights.items() if not k.endswith("position_ids")}


def write_weights(folder, w, kind, shards=1):
    """save_pretrained's layout; with shards > 1, split as it splits a large model: the tensors in order over the
    shards (model-00001-of-00002.safetensors, ...) and an index naming each tensor's shard."""
    if shards > 1:
        names = list(w)
        base, ext = ("model", "safetensors") if kind == "safetensors" else ("pytorch_model", "bin")
        weight_map = {}
        for i in range(shards):
            part = {n: w[n] for n in names[i * len(names) // shards:(i + 1) * len(names) // shards]}
            shard = f"{base}-{i + 1:05d}-of-{shards:05d}.{ext}"
            write_weights(folder, part, kind)
            os.rename(os.path.join(folder, "model.safetensors" if kind == "safetensors" else "pytorch_model.bin"),
                      os.path.join(folder, shard))
            weight_map.update({n: shard for n in part})
        with open(os.path.join(folder, f"{base}.{ext}.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f, indent=2)
        return
    write_one(folder, w, kind)


def write_one(folder, w, kind):
    """As save_pretrained writes them: model.safetensors, or a pytorch_model.bin of torch.save's state dict (an
    OrderedDict with _metadata, tied tensors saved once, the position_ids buffer older transformers kept); "bin-legacy"
    in the single-stream layout of PyTorch before 1.6 (SciBERT's and SPECTER's files on the Hub)."""
    if kind == "safetensors":
        write_safetensors(os.path.join(folder, "model.safetensors"), w)
        return
    import collections
    sd = collections.OrderedDict(w)
    prefix = next((p for p in ("bert.", "roberta.") if any(k.startswith(p) for k in sd)), "")
    if prefix + "embeddings.position_embeddings.weight" in sd:
        positions = sd[prefix + "embeddings.position_embeddings.weight"].shape[0]
        sd[prefix + "embeddings.position_ids"] = torch.arange(positions).unsqueeze(0)
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    torch.save(sd, os.path.join(folder, "pytorch_model.bin"), _use_new_zipfile_serialization=kind == "bin")


def load(folder):
    """The folder's model in eval mode, its state dict loaded strictly (after adding a bare BertModel's prefix)."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    weights = read_weights(folder)
    if "BertForMaskedLM" in config.get("architectures", []):
        model = MaskedLM(config)
        tied = weights["cls.predictions.decoder.weight"]
        if model.tied and not torch.equal(tied, weights["bert.embeddings.word_embeddings.weight"]):
            raise SystemExit("cls.predictions.decoder.weight is not tied to the word embeddings")
        model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=True)
        return model.eval(), config
    prefix = config["model_type"] + "."
    weights = {k if k.startswith((prefix, "classifier.", "cls.")) else prefix + k: v for k, v in weights.items()}
    weights = {k: v.float() for k, v in weights.items() if not k.startswith("cls.")}
    labels = 0
    for key in ("classifier.weight", "classifier.out_proj.weight"):
        if key in weights:
            labels = weights[key].shape[0]
    model = SequenceClassifier(config, labels)
    model.load_state_dict(weights, strict=True)
    return model.eval(), config


def forward(folder, id_lists):
    model, config = load(folder)
    pad = config.get("pad_token_id", 0)
    longest = max(len(x) for x in id_lists)
    ids = torch.tensor([x + [pad] * (longest - len(x)) for x in id_lists])
    mask = torch.tensor([[1] * len(x) + [0] * (longest - len(x)) for x in id_lists])
    with torch.no_grad():
        hidden, logits = model(ids, mask)
    out = {"hidden": [hidden[i, :len(x)].tolist() for i, x in enumerate(id_lists)]}
    if isinstance(model, MaskedLM):  # the five likeliest tokens at every position, and their probabilities
        p, i = torch.softmax(logits, dim=-1).topk(5, dim=-1)
        out["top5"] = [i[b, :len(x)].tolist() for b, x in enumerate(id_lists)]
        out["top5_probs"] = [p[b, :len(x)].tolist() for b, x in enumerate(id_lists)]
    elif logits is not None:
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
    if not roberta and not args.mlm_full:
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
    if args.mlm_full:  # BertForMaskedLM as saved: no pooler, the whole prediction head, the decoder tied
        if roberta:
            raise SystemExit("--mlm-full: BERT only")
        config["architectures"] = ["BertForMaskedLM"]
        lin("cls.predictions.transform.dense", h, h)
        norm("cls.predictions.transform.LayerNorm")
        w["cls.predictions.bias"] = torch.randn(vocab) * 0.1
        w["cls.predictions.decoder.weight"] = w["bert.embeddings.word_embeddings.weight"]
        if args.untied:  # tie_word_embeddings false: a decoder of its own
            config["tie_word_embeddings"] = False
            w["cls.predictions.decoder.weight"] = torch.randn(vocab, h)
    if args.bare:  # BertModel.save_pretrained: no family prefix
        w = {k[len(prefix):] if k.startswith(prefix) else k: v for k, v in w.items()}
    write_weights(args.out, w, args.weights, args.shards)
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
    m.add_argument("--mlm-full", action="store_true", help="a whole BertForMaskedLM (continued pre-training)")
    m.add_argument("--untied", action="store_true", help="with --mlm-full: the decoder untied from the embeddings")
    m.add_argument("--bare", action="store_true")
    m.add_argument("--weights", choices=["safetensors", "bin", "bin-legacy"], default="safetensors")
    m.add_argument("--shards", type=int, default=1, help="split the weights into this many files with an index")
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
