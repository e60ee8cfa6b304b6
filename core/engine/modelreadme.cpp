#include "engine/modelreadme.h"

#include <cstdio>
#include <utility>
#include <vector>

#include "metrics/metrics.h"

namespace lbk {

using nlohmann::json;

namespace {

std::string figure(const json &v)
{
    if (!v.is_number())
        return "-";
    char s[32];
    std::snprintf(s, sizeof s, "%.4f", v.get<double>());
    return s;
}

std::string text(const json &v, const std::string &otherwise = "?")
{
    return v.is_string() ? v.get<std::string>() : v.is_null() ? otherwise : v.dump();
}

// The labels, the first 20 of them and how many more.
std::string labelList(const json &labels)
{
    std::string out;
    size_t n = 0;
    for (const auto &l : labels) {
        if (n++ == 20) {
            out += ", ... (" + std::to_string(labels.size()) + " in all, labels.json)";
            break;
        }
        out += (out.empty() ? "" : ", ") + text(l);
    }
    return out;
}

// The figures a task is judged by, as an evaluation names them, and as the table heads them (found by an audit: a
// binary or multi-label model's card gave accuracy and macro-F1 alone, not the figures it was selected on).
std::vector<std::pair<std::string, std::string>> taskFigures(const std::string &task)
{
    if (task == "binary")
        return {{"accuracy", "accuracy"}, {"f1", "F1 (positive)"}, {"roc_auc", "ROC-AUC"}, {"pr_auc", "PR-AUC"}};
    if (task == "multilabel")
        return {{"micro_f1", "micro-F1"}, {"macro_f1", "macro-F1"}, {"accuracy", "exact-match accuracy"}};
    return {{"accuracy", "accuracy"}, {"macro_f1", "macro-F1"}};
}

// How the output becomes labels, where a threshold decides: 0.5, and what the validation split advises.
std::string decisionRule(const json &card)
{
    const std::string task = text(card.value("task", json()));
    if (task == "multilabel")
        return "A label is predicted from probability 0.5 up, so a paper gets every label that reaches it (or none); "
               "`lbk predict --threshold P` changes that.\n\n";
    if (task != "binary")
        return {};
    std::string rule = "The positive label is predicted from probability 0.5 up";
    if (const auto advice = thresholdAdvice(card.value("metrics", json::object()).value("val_best_f1", json())))
        rule += "; at the run's last validation F1 peaked at " + figure(advice->f1) + " from p >= " +
                advice->threshold + " (`lbk predict --threshold " + advice->threshold + "`; read off those weights, " +
                "which may be later than these)";
    return rule + ".\n\n";
}

std::string figuresSection(const json &card)
{
    const json val = card.value("checkpoint_metrics", json::object());
    const json final = card.value("metrics", json::object()).value("final", json::object());
    const auto figures = taskFigures(text(card.value("task", json())));
    std::string head = "| split |", rule = "| --- |", atVal = "| validation, at these weights |",
                atTest = "| test (scored once, at the end) |";
    for (const auto &[key, name] : figures) {
        head += " " + name + " |";
        rule += " --- |";
        atVal += " " + figure(val.value("val/" + key, json())) + " |";
        atTest += " " + figure(final.value("test/" + key, json())) + " |";
    }
    return "## How well\n\n" + head + "\n" + rule + "\n" + atVal + "\n" + atTest + "\n\n" + decisionRule(card);
}

// The card's input tokenizer, and where it is in the folder (tokenizer.model, or the hf folder of an encoder).
json tokenizerOf(const json &card)
{
    return card.value("input", json::object()).value("tokenizer", json::object());
}
std::string tokenizerPath(const json &card)
{
    const json tok = tokenizerOf(card);
    return text(tok.value("folder", tok.value("file", json())));
}

std::string inputSection(const json &card)
{
    const json in = card.value("input", json::object());
    const json tok = tokenizerOf(card);
    return "## Input\n\nThe model reads " + text(in.value("text_rule", json())) + " (`" + text(in.value("text", json())) +
           "`), tokenized by the " + text(tok.value("type", json())) + " tokenizer in " + tokenizerPath(card) +
           " and cut at " + text(tok.value("max_tokens", json())) +
           " tokens. Other text gives other probabilities. Every rule is in `model.json` under `input`.\n\n";
}

// Where a fine-tuned encoder came from (the card's encoder_from, written by lbk export from the store); empty for
// a model trained from scratch.
std::string encoderSection(const json &card)
{
    const json from = card.value("encoder_from", json());
    if (!from.is_object())
        return {};
    const json pre = from.value("pretraining_run", json());
    if (!pre.is_object())
        return "## Encoder\n\nFine-tuned here from the Hugging Face folder `" + text(from.value("init_from", json())) +
               "` (`model.init_from`).\n\n";
    const json step = pre.value("step", json());
    const std::string which = step.is_number() ? "its weights of step " + step.dump() : "its best weights";
    const std::string named = pre.contains("id") ? "run " + text(pre["id"]) + " `" + text(pre.value("name", json())) +
                                                       "` (" + text(pre["uid"]) + ")"
                                                 : "run " + text(pre["uid"]) + " (no longer in the store)";
    return "## Encoder\n\nPre-trained with masked-language modelling in " + named + " of the store it was trained in, " +
           which + " (`model.init_from`: `" + text(from.value("init_from", json())) + "`), then fine-tuned here.\n\n";
}

} // namespace

std::string modelReadme(const json &card)
{
    const json run = card.value("run", json::object());
    const json labels = card.value("labels", json::array());
    std::string s = "# " + text(run.value("name", json())) + ": a Labbook model\n\n";
    s += "A " + text(card.value("task", json())) + " classifier of arXiv papers over " +
         std::to_string(labels.size()) + " labels (" + text(card.value("output", json())) + "): " +
         labelList(labels) + ".\n\n";
    s += "Exported from run " + text(run.value("id", json())) + " (" + text(run.value("uid", json())) +
         ") of experiment `" + text(run.value("experiment", json())) + "`, the weights of step " +
         text(card.value("step", json())) + " (the run's " + text(card.value("checkpoint", json())) + " checkpoint), by " +
         text(card.value("engine", json())) + ".\n\n";
    s += encoderSection(card) + figuresSection(card) + inputSection(card);
    // The PyTorch client reads sentencepiece tokenizers; a Hugging Face encoder's WordPiece or BPE it leaves out.
    const bool pythonClient = tokenizerOf(card).contains("file");
    s += "## Use\n\n```sh\n"
         "lbk predict THIS_FOLDER --data papers.jsonl --out scores.jsonl          # or .csv; --top-k 3, --shard K/N\n" +
         std::string(pythonClient ? "python3 reference/load_export.py THIS_FOLDER --data papers.jsonl        # in "
                                    "PyTorch, from Labbook's repository\n"
                                  : "") +
         "```\n\n";
    s += "## Files\n\n- `weights.pt`: the weights, `torch.load` gives a dict of name -> tensor\n"
         "- `" + tokenizerPath(card) + "`: the tokenizer\n"
         "- `labels.json`: the labels in output order\n"
         "- `model.json`: this card as JSON, with the whole experiment, the run's metrics and the files' checksums "
         "(`lbk predict` refuses a folder whose files do not match them)\n";
    return s;
}

} // namespace lbk
