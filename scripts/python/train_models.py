#!/usr/bin/python3
"""Trains the small example models in models/ and exports them for panama-rnn's end-to-end tests.

One model per application structure of RNN teaching material:

  classifier  N-vs-1   which of 4 patterns a noisy 1-D sequence follows (bidirectional GRU -> Linear)
  charlm      N-vs-N / 1-vs-N  character-level language model (Embedding -> 2-layer LSTM -> Linear)
  seq2seq     N-vs-M   date-format translation, GRU encoder-decoder without attention

Everything is generated here (data, training, export), deterministically (fixed seeds, 2 threads,
float32). For every model the script writes models/<name>/:

  model.json          the configuration (the contract is described in models/README.md)
  weights.safetensors the model's state_dict under PyTorch's own names, float32
  cases.safetensors   test inputs and PyTorch's outputs for the Java tests
  cases.json          the same cases as readable strings (where there is text)

Run through scripts/train-models (which makes sure PyTorch is installed), or directly with
/usr/bin/python3 scripts/python/train_models.py [--only NAME ...] [--out DIR].
The safetensors reader and writer are st_io.py (no safetensors package needed); every
written file is read back and re-checked against a model rebuilt
from the files alone.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_io import read_safetensors, write_safetensors  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_OUT = os.path.join(ROOT, "models")
SPECIALS = ["<pad>", "<bos>", "<eos>"]
PAD, BOS, EOS = 0, 1, 2
REGEN_COMMAND = "scripts/train-models"

# ----------------------------------------------------------------------------- files

def write_model_files(out_dir, model, config, cases, case_meta, cases_json=None):
    os.makedirs(out_dir, exist_ok=True)
    sd = model.state_dict()
    write_safetensors(os.path.join(out_dir, "weights.safetensors"),
                      [(k, v.float(), "F32") for k, v in sd.items()],
                      {"format": "pt", "model": config["name"]})
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(config, f, indent=1, ensure_ascii=False)
        f.write("\n")
    write_safetensors(os.path.join(out_dir, "cases.safetensors"), cases, case_meta)
    if cases_json is not None:
        with open(os.path.join(out_dir, "cases.json"), "w") as f:
            json.dump(cases_json, f, indent=1, ensure_ascii=False)
            f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir))
    print(f"  wrote {out_dir} ({size / 1e6:.2f} MB)")


def load_weights_into(model, out_dir):
    _, t = read_safetensors(os.path.join(out_dir, "weights.safetensors"))
    model.load_state_dict(t, strict=True)
    return model.eval()


def rnn_config(rnn, prefix="rnn."):
    return {"prefix": prefix, "mode": "lstm" if isinstance(rnn, nn.LSTM) else "gru",
            "input_size": rnn.input_size, "hidden_size": rnn.hidden_size,
            "num_layers": rnn.num_layers, "bidirectional": rnn.bidirectional}


def top2_margin(logits):
    """Per row: largest minus second largest logit (how robust an argmax decision is)."""
    v = torch.topk(logits, 2, dim=-1).values
    return v[..., 0] - v[..., 1]


def argmax_first(logits):
    """argmax over the last dimension, ties -> lowest id (numpy's argmax returns the first)."""
    return torch.from_numpy(np.asarray(np.argmax(logits.detach().numpy(), axis=-1), dtype=np.int64))


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ============================================================================= 1. classifier

LABELS = ["sine", "square", "sawtooth", "random_walk"]
CLS_MIN_LEN, CLS_MAX_LEN = 20, 60


def make_pattern(rng, label):
    n = rng.randint(CLS_MIN_LEN, CLS_MAX_LEN)
    t = np.arange(n, dtype=np.float64)
    amp = rng.uniform(0.5, 1.5)
    freq = rng.uniform(0.04, 0.2)  # cycles per step: at least ~one period in 20 steps... mostly
    phase = rng.uniform(0.0, 1.0)
    offset = rng.uniform(-0.5, 0.5)
    noise = rng.uniform(0.05, 0.25) * amp
    cyc = freq * t + phase
    if label == 0:
        x = np.sin(2 * np.pi * cyc)
    elif label == 1:
        x = np.where((cyc % 1.0) < 0.5, 1.0, -1.0)
    elif label == 2:
        x = 2.0 * (cyc % 1.0) - 1.0
    else:
        steps = np.array([rng.gauss(0.0, 0.35) for _ in range(n)])
        x = np.cumsum(steps)
        x = x - x[0]
        amp = 1.0
    gauss = np.array([rng.gauss(0.0, noise) for _ in range(n)])
    return (amp * x + offset + gauss).astype(np.float32)


def make_classifier_data(rng, count):
    xs, ys = [], []
    for i in range(count):
        y = i % 4
        xs.append(make_pattern(rng, y))
        ys.append(y)
    order = list(range(count))
    rng.shuffle(order)
    return [xs[i] for i in order], [ys[i] for i in order]


def pad_batch(xs, tmax=None):
    tmax = tmax or max(len(x) for x in xs)
    out = torch.zeros(len(xs), tmax, 1)
    for i, x in enumerate(xs):
        out[i, :len(x), 0] = torch.from_numpy(x)
    return out, torch.tensor([len(x) for x in xs], dtype=torch.int64)


class Classifier(nn.Module):
    def __init__(self, hidden=32, classes=4):
        super().__init__()
        self.rnn = nn.GRU(1, hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)  # (2, B, H): forward at each sample's last valid step, reverse final
        return self.fc(torch.cat([h_n[0], h_n[1]], dim=1))


def train_classifier(out_dir):
    print("classifier: N-vs-1 bidirectional GRU pattern classifier")
    seed_all(1001)
    rng = random.Random(1001)
    train_x, train_y = make_classifier_data(rng, 4000)
    test_x, test_y = make_classifier_data(rng, 500)
    model = Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    ytr = torch.tensor(train_y)
    t0 = time.time()
    bs = 128
    for epoch in range(20):
        model.train()
        perm = torch.randperm(len(train_x)).tolist()
        total = 0.0
        for b in range(0, len(perm), bs):
            idx = perm[b:b + bs]
            x, lens = pad_batch([train_x[i] for i in idx])
            loss = F.cross_entropy(model(x, lens), ytr[idx])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item() * len(idx)
        if epoch % 5 == 4:
            print(f"  epoch {epoch + 1}: train loss {total / len(perm):.4f}")
    train_time = time.time() - t0

    model.eval()
    x, lens = pad_batch(test_x, CLS_MAX_LEN)
    labels = torch.tensor(test_y, dtype=torch.int64)
    with torch.no_grad():
        logits = model(x, lens)
    acc = int((argmax_first(logits) == labels).sum()) / len(test_y)
    print(f"  trained in {train_time:.1f} s; test accuracy {acc:.4f} on {len(test_x)}")

    config = {
        "name": "classifier", "structure": "n_vs_1",
        "description": "Which of 4 patterns (sine, square, sawtooth, random walk; random amplitude, "
                       "frequency, phase, offset, Gaussian noise) a 1-D sequence of length 20..60 "
                       "follows. Bidirectional GRU over the packed sequence; nn.Linear on "
                       "[forward h_n at each sample's last valid step, reverse h_n after step 0]; "
                       "logits, argmax = label.",
        "input_size": 1, "labels": LABELS,
        "embedding": None, "rnn": rnn_config(model.rnn), "head": "fc.",
        "head_input": "concat(h_n[forward], h_n[reverse]) of the last layer",
        "pytorch": {"test_accuracy": acc, "test_set_size": len(test_x), "torch_version": torch.__version__},
    }
    cases = [("inputs", x, "F32"), ("lengths", lens, "I64"), ("expected_logits", logits, "F32"),
             ("labels", labels, "I64")]
    meta = {"accuracy": repr(acc), "layout": "inputs batch-first (N, Tmax, 1), zero-padded after lengths[i]"}
    write_model_files(out_dir, model, config, cases, meta)

    # self-check: rebuild from the files; each sample run alone, unpadded, gives the same logits
    m2 = load_weights_into(Classifier(), out_dir)
    _, c = read_safetensors(os.path.join(out_dir, "cases.safetensors"))
    with torch.no_grad():
        for i in range(0, 500, 37):
            n = int(c["lengths"][i])
            xi = c["inputs"][i:i + 1, :n]
            _, h = m2.rnn(xi)
            li = m2.fc(torch.cat([h[0], h[1]], dim=1))[0]
            assert torch.allclose(li, c["expected_logits"][i], atol=1e-5), f"classifier case {i}"
        assert torch.equal(m2(c["inputs"], c["lengths"]), c["expected_logits"])
    assert acc >= 0.95, f"classifier accuracy {acc} < 0.95"
    return {"name": "classifier", "seconds": train_time, "test_accuracy": acc}


# ============================================================================= 2. charlm

LM_WORDS = {
    "det": ["the", "a", "my", "your", "this", "that", "every", "one"],
    "adj": ["small", "big", "red", "green", "old", "young", "happy", "sad", "quick", "lazy", "tall",
            "brown", "quiet", "loud"],
    "noun": ["cat", "dog", "bird", "fox", "horse", "child", "teacher", "farmer", "girl", "boy", "king",
             "queen", "baker", "sailor", "mouse", "rabbit"],
    "place": ["garden", "house", "forest", "park", "river", "kitchen", "village", "market", "field",
              "school"],
    "vt": ["sees", "likes", "finds", "follows", "watches", "helps", "chases", "knows", "calls", "loves"],
    "vi": ["sleeps", "runs", "sings", "waits", "smiles", "jumps", "walks", "dances", "laughs", "rests"],
    "adv": ["slowly", "quietly", "happily", "today", "again", "often", "early", "late"],
    "prep": ["in", "near", "behind", "by"],
}


def lm_sentence(rng):
    W = LM_WORDS

    def np_(allow_adj=True):
        words = [rng.choice(W["det"])]
        if allow_adj and rng.random() < 0.4:
            words.append(rng.choice(W["adj"]))
        words.append(rng.choice(W["noun"]))
        return words

    def pp():
        return [rng.choice(W["prep"]), "the", rng.choice(W["place"])]

    r = rng.random()
    s = np_()
    if r < 0.4:
        s += [rng.choice(W["vt"])] + np_()
    elif r < 0.7:
        s += [rng.choice(W["vi"])]
        if rng.random() < 0.5:
            s.append(rng.choice(W["adv"]))
    elif r < 0.85:
        s += ["is", rng.choice(W["adj"])]
    else:
        s += [rng.choice(W["vi"])]
    if rng.random() < 0.3:
        s += pp()
    return " ".join(s) + "."


def lm_valid(sentence):
    """Is the sentence one the grammar can produce? (a word-by-word recogniser)"""
    if not sentence.endswith(".") or "  " in sentence:
        return False
    w = sentence[:-1].split(" ")
    W = LM_WORDS
    i = 0

    def np_at(i):
        if i < len(w) and w[i] in W["det"]:
            i += 1
            if i < len(w) and w[i] in W["adj"]:
                i += 1
            if i < len(w) and w[i] in W["noun"]:
                return i + 1
        return None

    i = np_at(0)
    if i is None or i >= len(w):
        return False
    if w[i] in W["vt"]:
        i = np_at(i + 1)
        if i is None:
            return False
    elif w[i] in W["vi"]:
        i += 1
        if i < len(w) and w[i] in W["adv"]:
            i += 1
    elif w[i] == "is":
        if i + 1 < len(w) and w[i + 1] in W["adj"]:
            i += 2
        else:
            return False
    else:
        return False
    if i == len(w):
        return True
    return (len(w) == i + 3 and w[i] in W["prep"] and w[i + 1] == "the" and w[i + 2] in W["place"])


class CharLM(nn.Module):
    def __init__(self, vocab, embed=32, hidden=128, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, tokens, state=None):
        out, state = self.rnn(self.embed(tokens), state)
        return self.fc(out), state


def lm_greedy(model, prompt, max_new=60):
    """Feeds the prompt, then argmax (ties -> lowest id) fed back, until <eos> (included) or max_new
    tokens. Returns (new tokens, smallest top-2 logit margin over the decisions)."""
    with torch.no_grad():
        logits, state = model(torch.tensor([prompt]))
        last = logits[0, -1]
        out, margin = [], float("inf")
        for _ in range(max_new):
            tok = int(argmax_first(last))
            margin = min(margin, float(top2_margin(last)))
            out.append(tok)
            if tok == EOS:
                break
            logits, state = model(torch.tensor([[tok]]), state)
            last = logits[0, -1]
    return out, margin


def charlm_data():
    """The training and test sentences (the test set follows the training set in one seeded stream)."""
    rng = random.Random(2002)
    sentences = []
    while sum(len(s) for s in sentences) < 50000:
        sentences.append(lm_sentence(rng))
    test_sentences = [lm_sentence(rng) for _ in range(300)]
    return sentences, test_sentences


def charlm_test_cases(test):
    """The encoded test sentences (<bos> chars <eos>), -1 padded, and their lengths."""
    T = max(len(s) for s in test)
    toks = torch.full((len(test), T), -1, dtype=torch.int64)
    for i, s in enumerate(test):
        toks[i, :len(s)] = torch.tensor(s)
    return [("test_tokens", toks, "I64"), ("test_lengths", torch.tensor([len(s) for s in test], dtype=torch.int64), "I64")]


def charlm_add_test_set(out_dir):
    """Adds the test set to an existing charlm's cases.safetensors (for models trained before the test set
    was exported), after checking that the committed weights give exactly the accuracy recorded at
    training time on it."""
    with open(os.path.join(out_dir, "model.json")) as f:
        config = json.load(f)
    vocab = config["vocab"]
    stoi = {c: i for i, c in enumerate(vocab)}
    _, test_sentences = charlm_data()
    test = [[BOS] + [stoi[c] for c in s] + [EOS] for s in test_sentences]
    model = load_weights_into(CharLM(len(vocab)), out_dir)
    with torch.no_grad():
        T = max(len(s) for s in test)
        t = torch.full((len(test), T), PAD, dtype=torch.int64)
        for i, s in enumerate(test):
            t[i, :len(s)] = torch.tensor(s)
        logits, _ = model(t[:, :-1])
        tgt = t[:, 1:]
        mask = tgt != PAD
        acc = ((argmax_first(logits) == tgt) & mask).sum().item() / mask.sum().item()
    recorded = config["pytorch"]["test_accuracy"]
    assert acc == recorded, f"accuracy on the regenerated test set {acc} != recorded {recorded}"
    meta, cases = read_safetensors(os.path.join(out_dir, "cases.safetensors"))
    entries = [(k, v, "F32" if v.dtype == torch.float32 else "I64") for k, v in cases.items() if not k.startswith("test_")]
    entries += charlm_test_cases(test)
    write_safetensors(os.path.join(out_dir, "cases.safetensors"), entries, meta)
    print(f"  charlm: added the test set ({len(test)} sentences, accuracy {acc} as recorded) to {out_dir}/cases.safetensors")


def train_charlm(out_dir):
    print("charlm: N-vs-N / 1-vs-N character LSTM language model")
    seed_all(2002)
    sentences, test_sentences = charlm_data()
    chars = sorted(set("".join(sentences + test_sentences)))
    vocab = SPECIALS + chars
    stoi = {c: i for i, c in enumerate(vocab)}
    V = len(vocab)

    def encode(s):
        return [BOS] + [stoi[c] for c in s] + [EOS]

    def batch(seqs):
        T = max(len(s) for s in seqs)
        t = torch.full((len(seqs), T), PAD, dtype=torch.int64)
        for i, s in enumerate(seqs):
            t[i, :len(s)] = torch.tensor(s)
        return t  # inputs t[:, :-1], targets t[:, 1:] (pad ignored)

    train = [encode(s) for s in sentences]
    test = [encode(s) for s in test_sentences]
    print(f"  {len(sentences)} training sentences, {sum(len(s) for s in sentences)} chars, vocab {V}")
    model = CharLM(V)
    opt = torch.optim.Adam(model.parameters(), lr=4e-3)
    t0 = time.time()
    bs = 64
    epochs = 15
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * math.ceil(len(train) / bs))
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(train)).tolist()
        total, count = 0.0, 0
        for b in range(0, len(perm), bs):
            t = batch([train[i] for i in perm[b:b + bs]])
            logits, _ = model(t[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, V), t[:, 1:].reshape(-1), ignore_index=PAD)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            n = int((t[:, 1:] != PAD).sum())
            total += loss.item() * n
            count += n
        if epoch % 3 == 2:
            print(f"  epoch {epoch + 1}: train loss {total / count:.4f}")
    train_time = time.time() - t0

    model.eval()
    with torch.no_grad():
        t = batch(test)
        logits, _ = model(t[:, :-1])
        tgt = t[:, 1:]
        mask = tgt != PAD
        test_loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1), ignore_index=PAD).item()
        acc = ((argmax_first(logits) == tgt) & mask).sum().item() / mask.sum().item()
    print(f"  trained in {train_time:.1f} s; test next-char accuracy {acc:.4f}, "
          f"loss {test_loss:.4f} nats ({test_loss / math.log(2):.3f} bits/char)")

    def decode(toks):
        return "".join(vocab[i] for i in toks if i > EOS)

    # 1-vs-N: greedy continuations of a few prompts
    prompt_texts = ["the", "a b", "my ", "eve", "one", "thi", "you", "a s"]
    gen, gen_texts, margins, valid = [], [], [], 0
    for p in prompt_texts:
        prompt = [BOS] + [stoi[c] for c in p]
        toks, margin = lm_greedy(model, prompt)
        gen.append(toks)
        margins.append(margin)
        text = p + decode(toks)
        ok = lm_valid(text) and toks[-1] == EOS
        valid += ok
        gen_texts.append(text)
        print(f"  greedy {p!r:7} -> {text!r}  grammatical={ok} min top-2 margin {margin:.3f}")
    P = 1 + len(prompt_texts[0])
    L = 60
    gen_prompts = torch.tensor([[BOS] + [stoi[c] for c in p] for p in prompt_texts], dtype=torch.int64)
    gen_greedy = torch.full((len(gen), L), -1, dtype=torch.int64)
    for i, g in enumerate(gen):
        gen_greedy[i, :len(g)] = torch.tensor(g)

    # N-vs-N: logits at every step of a few fixed-length token sequences (bos + 31 tokens)
    T = 32
    seqs = [s[:T] for s in test if len(s) >= T][:4]
    nn_tokens = torch.tensor(seqs, dtype=torch.int64)
    with torch.no_grad():
        nn_logits, _ = model(nn_tokens)

    config = {
        "name": "charlm", "structure": "lm",
        "description": "Character-level language model of simple grammar-generated English sentences "
                       "(lowercase, ending with '.'). Each sentence is <bos> chars <eos>, run from a zero "
                       "state; logits at step t predict token t+1. Embedding -> 2-layer LSTM -> Linear.",
        "vocab": vocab, "pad": PAD, "bos": BOS, "eos": EOS,
        "embedding": "embed.", "rnn": rnn_config(model.rnn), "head": "fc.",
        "max_generate": L,
        "pytorch": {"test_accuracy": acc, "test_metric": "next-character accuracy (teacher forced)",
                    "test_loss_nats": test_loss, "test_set_size": int(mask.sum()),
                    "test_sentences": len(test), "greedy_grammatical": f"{valid}/{len(prompt_texts)}",
                    "torch_version": torch.__version__},
    }
    cases = [("nn_tokens", nn_tokens, "I64"), ("nn_expected_logits", nn_logits, "F32"),
             ("gen_prompts", gen_prompts, "I64"), ("gen_greedy", gen_greedy, "I64"),
             ("gen_min_margin", torch.tensor(margins, dtype=torch.float32), "F32")]
    cases += charlm_test_cases(test)
    meta = {"accuracy": repr(acc), "gen_max_tokens": str(L), "prompt_length": str(P)}
    cases_json = {"nn_texts": [decode(s) for s in seqs],
                  "gen_prompts": prompt_texts, "gen_texts": gen_texts}
    write_model_files(out_dir, model, config, cases, meta, cases_json)

    m2 = load_weights_into(CharLM(V), out_dir)
    _, c = read_safetensors(os.path.join(out_dir, "cases.safetensors"))
    with torch.no_grad():
        assert torch.equal(m2(c["nn_tokens"])[0], c["nn_expected_logits"])
        # chunked (streaming, state carried) equals one-shot
        a, st = m2(c["nn_tokens"][:, :11])
        b, _ = m2(c["nn_tokens"][:, 11:], st)
        assert torch.allclose(torch.cat([a, b], 1), c["nn_expected_logits"], atol=1e-5)
    for i in range(len(prompt_texts)):
        toks, _ = lm_greedy(m2, c["gen_prompts"][i].tolist())
        row = c["gen_greedy"][i]
        assert toks == row[row >= 0].tolist()
    return {"name": "charlm", "seconds": train_time, "test_accuracy": acc, "samples": gen_texts}


# ============================================================================= 3. seq2seq

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
DATE_FORMATS = [
    lambda d, m, y: f"{d} {MONTHS[m - 1]} {y}",           # 3 March 2021
    lambda d, m, y: f"{d:02d}/{m:02d}/{y}",                # 03/03/2021 (day/month/year)
    lambda d, m, y: f"{MONTHS[m - 1]} {d}, {y}",          # March 3, 2021
    lambda d, m, y: f"{d} {MONTHS[m - 1][:3]} {y}",       # 3 Mar 2021
    lambda d, m, y: f"{MONTHS[m - 1][:3]} {d}, {y}",      # Mar 3, 2021
    lambda d, m, y: f"{d}.{m}.{y}",                        # 3.3.2021
]
DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
YEARS = (1950, 2049)


def all_dates():
    out = []
    for y in range(YEARS[0], YEARS[1] + 1):
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        for m in range(1, 13):
            for d in range(1, DAYS_IN_MONTH[m - 1] + (1 if m == 2 and leap else 0) + 1):
                out.append((d, m, y))
    return out


class Encoder(nn.Module):
    def __init__(self, vocab, embed, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed, hidden, batch_first=True)

    def forward(self, src, lengths):
        packed = pack_padded_sequence(self.embed(src), lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.rnn(packed)  # (1, B, H) at each sample's last valid step
        return h_n


class Decoder(nn.Module):
    def __init__(self, vocab, embed, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens, h):
        o, h = self.rnn(self.embed(tokens), h)
        return self.out(o), h


class Seq2Seq(nn.Module):
    def __init__(self, in_vocab, out_vocab, embed=64, hidden=256):
        super().__init__()
        self.encoder = Encoder(in_vocab, embed, hidden)
        self.decoder = Decoder(out_vocab, embed, hidden)

    def forward(self, src, lengths, dec_in):
        return self.decoder(dec_in, self.encoder(src, lengths))[0]


def s2s_greedy(model, src, lengths, max_len):
    """Batched greedy decoding. Returns (tokens (N, max_len) -1 padded incl. eos, first-step logits,
    smallest top-2 margin per sample over its decisions)."""
    with torch.no_grad():
        h = model.encoder(src, lengths)
        N = src.shape[0]
        tok = torch.full((N, 1), BOS, dtype=torch.int64)
        out = torch.full((N, max_len), -1, dtype=torch.int64)
        done = torch.zeros(N, dtype=torch.bool)
        margin = torch.full((N,), float("inf"))
        first = None
        for step in range(max_len):
            logits, h = model.decoder(tok, h)
            logits = logits[:, 0]
            if first is None:
                first = logits.clone()
            nxt = argmax_first(logits)
            margin = torch.where(done, margin, torch.minimum(margin, top2_margin(logits)))
            out[:, step] = torch.where(done, torch.full_like(nxt, -1), nxt)
            done = done | (nxt == EOS)
            tok = nxt.unsqueeze(1)
            if bool(done.all()):
                break
    return out, first, margin


def s2s_beam(model, src, length, width, max_len):
    """Beam search exactly as specified in models/README.md (float32 scores, no length
    normalisation). Returns (tokens excluding bos, including eos if present; score)."""
    with torch.no_grad():
        h0 = model.encoder(src.unsqueeze(0), torch.tensor([length]))  # (1, 1, H)
        alive = [(np.float32(0.0), [BOS], h0)]
        finished = []
        for _ in range(max_len):
            toks = torch.tensor([[b[1][-1]] for b in alive])
            hs = torch.cat([b[2] for b in alive], dim=1)
            logits, hn = model.decoder(toks, hs)
            logp = torch.log_softmax(logits[:, 0].float(), dim=-1).numpy()
            cands = []
            for bi, (score, _, _) in enumerate(alive):
                for t in range(logp.shape[1]):
                    cands.append((np.float32(score + logp[bi, t]), bi, t))
            cands.sort(key=lambda c: (-c[0], c[1], c[2]))
            nxt = []
            for score, bi, t in cands[:width]:
                if t == EOS:
                    finished.append((score, alive[bi][1] + [t]))
                else:
                    nxt.append((score, alive[bi][1] + [t], hn[:, bi:bi + 1]))
            alive = nxt
            if len(finished) >= width or not alive:
                break
        if finished:
            best = finished[0]
            for f in finished[1:]:
                if f[0] > best[0]:
                    best = f
        else:
            best = alive[0]
        return best[1][1:], float(best[0])


def train_seq2seq(out_dir):
    print("seq2seq: N-vs-M GRU encoder-decoder, date formats -> ISO 8601")
    seed_all(3003)
    rng = random.Random(3003)
    dates = all_dates()
    rng.shuffle(dates)
    test_dates, val_dates, train_dates = dates[:500], dates[500:1000], dates[1000:]

    def sample(date_list, k):
        out = []
        for _ in range(k):
            d, m, y = rng.choice(date_list)
            out.append((rng.choice(DATE_FORMATS)(d, m, y), f"{y:04d}-{m:02d}-{d:02d}"))
        return out

    test = [(DATE_FORMATS[i % len(DATE_FORMATS)](d, m, y), f"{y:04d}-{m:02d}-{d:02d}")
            for i, (d, m, y) in enumerate(test_dates)]
    val = [(rng.choice(DATE_FORMATS)(d, m, y), f"{y:04d}-{m:02d}-{d:02d}") for d, m, y in val_dates]
    in_chars = sorted(set("".join(f(d, m, y) for f in DATE_FORMATS for d, m, y in dates[:5000])
                          + "".join(MONTHS) + "0123456789 ,./"))
    in_vocab = SPECIALS + in_chars
    out_vocab = SPECIALS + list("-0123456789")
    istoi = {c: i for i, c in enumerate(in_vocab)}
    ostoi = {c: i for i, c in enumerate(out_vocab)}
    max_out = 12  # 10 characters + <eos>, one spare

    def enc_src(pairs):
        S = max(len(s) for s, _ in pairs)
        t = torch.full((len(pairs), S), PAD, dtype=torch.int64)
        for i, (s, _) in enumerate(pairs):
            t[i, :len(s)] = torch.tensor([istoi[c] for c in s])
        return t, torch.tensor([len(s) for s, _ in pairs], dtype=torch.int64)

    def enc_tgt(pairs):
        return torch.tensor([[ostoi[c] for c in t] + [EOS] for _, t in pairs], dtype=torch.int64)

    def exact(model, pairs):
        src, lens = enc_src(pairs)
        g, _, _ = s2s_greedy(model, src, lens, max_out)
        tgt = enc_tgt(pairs)
        return int((g[:, :tgt.shape[1]] == tgt).all(dim=1).sum()) / len(pairs)

    model = Seq2Seq(len(in_vocab), len(out_vocab))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    t0 = time.time()
    bs = 128
    steps_per_epoch = 60
    max_epochs = 40
    for epoch in range(max_epochs):
        model.train()
        total = 0.0
        for _ in range(steps_per_epoch):
            pairs = sample(train_dates, bs)
            src, lens = enc_src(pairs)
            tgt = enc_tgt(pairs)
            dec_in = torch.cat([torch.full((bs, 1), BOS, dtype=torch.int64), tgt[:, :-1]], dim=1)
            logits = model(src, lens, dec_in)
            loss = F.cross_entropy(logits.reshape(-1, len(out_vocab)), tgt.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += loss.item()
        model.eval()
        v = exact(model, val)
        print(f"  epoch {epoch + 1}: train loss {total / steps_per_epoch:.4f}, val exact match {v:.4f} "
              f"({time.time() - t0:.0f} s)")
        if v >= 0.995 and epoch >= 4:
            break
    train_time = time.time() - t0

    model.eval()
    src, lens = enc_src(test)
    tgt = enc_tgt(test)
    greedy, first, margin = s2s_greedy(model, src, lens, max_out)
    em = int((greedy[:, :tgt.shape[1]] == tgt).all(dim=1).sum()) / len(test)
    target_tokens = torch.full((len(test), max_out), -1, dtype=torch.int64)
    target_tokens[:, :tgt.shape[1]] = tgt
    tb = time.time()
    beams = [s2s_beam(model, src[i], int(lens[i]), 3, max_out) for i in range(len(test))]
    beam_tokens = torch.full((len(test), max_out), -1, dtype=torch.int64)
    for i, (toks, _) in enumerate(beams):
        beam_tokens[i, :len(toks)] = torch.tensor(toks)
    beam_scores = torch.tensor([s for _, s in beams], dtype=torch.float32)
    beam_em = int((beam_tokens == target_tokens).all(dim=1).sum()) / len(test)
    print(f"  trained in {train_time:.1f} s; test exact match greedy {em:.4f}, beam-3 {beam_em:.4f} "
          f"on {len(test)} (beam search {time.time() - tb:.1f} s)")

    def decode(toks):
        return "".join(out_vocab[i] for i in toks if i > EOS)

    for i in range(6):
        print(f"  {test[i][0]!r:22} -> {decode(greedy[i].tolist())!r}")
    wrong = [(test[i][0], decode(greedy[i].tolist()), test[i][1]) for i in range(len(test))
             if not bool((greedy[i] == target_tokens[i]).all())]
    for w in wrong[:5]:
        print(f"  wrong: {w[0]!r} -> {w[1]!r} (want {w[2]!r})")

    rnn_enc = rnn_config(model.encoder.rnn, "encoder.rnn.")
    rnn_dec = rnn_config(model.decoder.rnn, "decoder.rnn.")
    config = {
        "name": "seq2seq", "structure": "seq2seq",
        "description": "Date-format translation to ISO 8601 (e.g. '3 March 2021', '03/03/2021' "
                       "(day/month/year), 'March 3, 2021', '3 Mar 2021', 'Mar 3, 2021', '3.3.2021' -> "
                       "'2021-03-03'), years 1950..2049. Source = the characters of the input "
                       "(no <bos>/<eos>), run through the encoder GRU as a packed sequence; its h_n "
                       "initialises the decoder GRU; decoder input starts with <bos>; greedy decoding "
                       "stops after <eos> or max_output_length tokens. No attention.",
        "input_vocab": in_vocab, "output_vocab": out_vocab, "pad": PAD, "bos": BOS, "eos": EOS,
        "source_tokens": "characters of the input string, no <bos>/<eos>",
        "encoder": {"embedding": "encoder.embed.", "rnn": rnn_enc},
        "decoder": {"embedding": "decoder.embed.", "rnn": rnn_dec, "head": "decoder.out."},
        "max_output_length": max_out,
        "pytorch": {"exact_match": em, "beam3_exact_match": beam_em, "test_set_size": len(test),
                    "torch_version": torch.__version__},
    }
    cases = [("src_tokens", src, "I64"), ("src_lengths", lens, "I64"), ("greedy_tokens", greedy, "I64"),
             ("greedy_first_logits", first, "F32"), ("target_tokens", target_tokens, "I64"),
             ("beam3_tokens", beam_tokens, "I64"), ("beam3_scores", beam_scores, "F32"),
             ("greedy_min_margin", margin.float(), "F32")]
    meta = {"exact_match": repr(em), "beam3_exact_match": repr(beam_em), "beam_width": "3",
            "max_output_length": str(max_out)}
    cases_json = {"sources": [s for s, _ in test], "targets": [t for _, t in test],
                  "greedy": [decode(g.tolist()) for g in greedy]}
    write_model_files(out_dir, model, config, cases, meta, cases_json)

    m2 = load_weights_into(Seq2Seq(len(in_vocab), len(out_vocab)), out_dir)
    _, c = read_safetensors(os.path.join(out_dir, "cases.safetensors"))
    g2, f2, _ = s2s_greedy(m2, c["src_tokens"], c["src_lengths"], max_out)
    assert torch.equal(g2, c["greedy_tokens"]) and torch.equal(f2, c["greedy_first_logits"])
    with torch.no_grad():  # the packed encoder equals each source run alone, unpadded
        for i in range(0, len(test), 41):
            n = int(c["src_lengths"][i])
            _, h = m2.encoder.rnn(m2.encoder.embed(c["src_tokens"][i:i + 1, :n]))
            assert torch.allclose(h, m2.encoder(c["src_tokens"][i:i + 1], c["src_lengths"][i:i + 1]), atol=1e-6)
    for i in range(0, len(test), 50):
        toks, score = s2s_beam(m2, c["src_tokens"][i], int(c["src_lengths"][i]), 3, max_out)
        row = c["beam3_tokens"][i]
        assert toks == row[row >= 0].tolist() and np.float32(score) == c["beam3_scores"][i].item()
    assert em >= 0.95, f"seq2seq exact match {em} < 0.95"
    return {"name": "seq2seq", "seconds": train_time, "exact_match": em, "beam3": beam_em}


# ============================================================================= main

MODELS = {"classifier": train_classifier, "charlm": train_charlm, "seq2seq": train_seq2seq}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default: models/ at the repo root)")
    ap.add_argument("--only", action="append", choices=sorted(MODELS), help="train only this model (repeatable)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default 1: on a shared 2-core machine 2 threads spin and run ~10x slower)")
    ap.add_argument("--add-test-sets", action="store_true",
                    help="do not train: add charlm's test set to its existing cases.safetensors, checking the recorded accuracy")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.add_test_sets:
        charlm_add_test_set(os.path.join(args.out, "charlm"))
        return 0
    torch.use_deterministic_algorithms(True)
    results = []
    for name in args.only or list(MODELS):
        results.append(MODELS[name](os.path.join(args.out, name)))
    print("summary:")
    for r in results:
        print("  " + ", ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                               for k, v in r.items() if k != "samples"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
