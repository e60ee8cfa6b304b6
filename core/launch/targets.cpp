#include "launch/targets.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "launch/placeholders.h"
#include "launch/shellquote.h"
#include "util/filebytes.h"
#include "util/text.h"
#include "store/store.h"

namespace lbk {

namespace fs = std::filesystem;
using nlohmann::json;

const char *toString(TargetType t)
{
    switch (t) {
    case TargetType::Local: return "local";
    case TargetType::Ssh: return "ssh";
    case TargetType::Slurm: return "slurm";
    case TargetType::Command: return "command";
    }
    return "local";
}

Target localTarget()
{
    Target t;
    t.name = kLocalTarget;
    return t;
}

std::string Target::describe() const
{
    auto endpoint = [](const SshEndpoint &e) {
        return (e.user.empty() ? "" : e.user + "@") + e.host + ":" + std::to_string(e.port);
    };
    std::string what;
    switch (type) {
    case TargetType::Local: what = "this machine"; break;
    case TargetType::Ssh: what = "ssh " + endpoint(*ssh); break;
    case TargetType::Slurm:
        what = "slurm " + (ssh ? "over ssh " + endpoint(*ssh) : std::string("on this machine")) +
               (partition.empty() ? "" : ", partition " + partition);
        break;
    case TargetType::Command: what = "command " + (command.empty() ? std::string("?") : command.front()); break;
    }
    return what;
}

std::string Target::listed() const
{
    return description.empty() ? describe() : describe() + " \u2014 " + description;
}

const Target *TargetsFile::find(const std::string &name) const
{
    for (const auto &t : targets)
        if (t.name == name)
            return &t;
    return nullptr;
}

fs::path defaultTargetsPath()
{
    if (const char *env = std::getenv("LABBOOK_TARGETS"); env && *env)
        return env;
    if (const char *xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg)
        return fs::path(xdg) / "labbook" / "targets.json";
    const char *home = std::getenv("HOME");
    return fs::path(home ? home : ".") / ".config" / "labbook" / "targets.json";
}

namespace {

enum class K { String, Int, StringList, StringMap, Object, Lines };

struct Key {
    const char *name;
    K kind;
    bool required = false;
};

// Which keys each type accepts, so a typo is reported instead of silently ignored.
const std::vector<Key> kCommonKeys = {{"type", K::String, true}, {"description", K::String}, {"work_dir", K::String},
                                      {"lbk", K::String},        {"setup", K::Lines},         {"env", K::StringMap},
                                      {"data_root", K::String},  {"worker", K::StringList}};
const std::vector<Key> kSshKeys = {{"host", K::String, true}, {"port", K::Int},          {"user", K::String},
                                   {"identity_file", K::String}, {"known_hosts", K::String}, {"ssh_options", K::StringList},
                                   {"connect_timeout", K::Int}};
const std::vector<Key> kSlurmKeys = {{"ssh", K::Object}, {"partition", K::String}, {"time", K::String},
                                     {"cpus", K::Int},   {"mem", K::String},       {"gres", K::String},
                                     {"sbatch", K::StringList}};
const std::vector<Key> kCommandKeys = {{"command", K::StringList, true}, {"vars", K::StringMap}};

const char *kindName(K k)
{
    switch (k) {
    case K::String: return "a string";
    case K::Int: return "an integer";
    case K::StringList: return "an array of strings";
    case K::StringMap: return "an object of strings";
    case K::Object: return "an object";
    case K::Lines: return "a string or an array of strings";
    }
    return "?";
}

bool hasKind(const json &v, K k)
{
    auto allStrings = [](const json &a) {
        return std::all_of(a.begin(), a.end(), [](const json &x) { return x.is_string(); });
    };
    switch (k) {
    case K::String: return v.is_string();
    case K::Int: return v.is_number_integer();
    case K::StringList: return v.is_array() && allStrings(v);
    case K::StringMap: return v.is_object() && allStrings(v);
    case K::Object: return v.is_object();
    case K::Lines: return v.is_string() || (v.is_array() && allStrings(v));
    }
    return false;
}

bool hasNewline(const std::string &s)
{
    return s.find_first_of("\n\r") != std::string::npos;
}

void checkKeys(const json &obj, const std::string &path, const std::vector<const std::vector<Key> *> &tables,
               std::vector<ValidationIssue> &issues)
{
    std::set<std::string> known;
    for (const auto *t : tables)
        for (const auto &k : *t) {
            known.insert(k.name);
            auto it = obj.find(k.name);
            const std::string p = path + "." + k.name;
            if (it == obj.end()) {
                if (k.required)
                    issues.push_back({p, p + ": missing; required for this target type"});
                continue;
            }
            if (!hasKind(*it, k.kind))
                issues.push_back({p, p + ": " + it->dump() + " is not " + kindName(k.kind)});
        }
    for (const auto &[key, v] : obj.items())
        if (!known.count(key)) {
            std::string allowed;
            for (const auto &k : known)
                allowed += (allowed.empty() ? "" : ", ") + k;
            const std::string near = nearestWord(key, known);
            issues.push_back({path + "." + key, path + "." + key + ": unknown key" +
                                                    (near.empty() ? "" : " (did you mean \"" + near + "\"?)") +
                                                    "; allowed here: " + allowed});
        }
}

void checkEndpoint(const json &e, const std::string &path, std::vector<ValidationIssue> &issues)
{
    auto host = e.value("host", std::string());
    if (e.contains("host") && e["host"].is_string() && host.empty())
        issues.push_back({path + ".host", path + ".host: empty; name the machine (a host name, an IP address or a "
                                          "Host of ~/.ssh/config)"});
    if (const json timeout = e.value("connect_timeout", json()); timeout.is_number_integer() && timeout.get<int>() < 1)
        issues.push_back({path + ".connect_timeout", path + ".connect_timeout: " + timeout.dump() +
                                                         " is out of range; give seconds, 1 or more"});
    if (!host.empty() && (host.front() == '-' || host.find_first_of(" \t\n'\"@") != std::string::npos))
        issues.push_back({path + ".host", path + ".host: \"" + host + "\" is not a host name (write the user in \"user\")"});
    auto user = e.value("user", std::string());
    if (!user.empty() && (user.front() == '-' || user.find_first_of(" \t\n'\"@") != std::string::npos))
        issues.push_back({path + ".user", path + ".user: \"" + user + "\" is not a user name"});
    if (e.contains("port") && e["port"].is_number_integer() && (e["port"].get<int>() < 1 || e["port"].get<int>() > 65535))
        issues.push_back({path + ".port", path + ".port: " + e["port"].dump() + " is out of range; allowed: 1 to 65535"});
    if (e.contains("ssh_options") && e["ssh_options"].is_array())
        for (size_t i = 0; i < e["ssh_options"].size(); ++i) {
            const auto &o = e["ssh_options"][i];
            if (o.is_string() && o.get<std::string>().find('=') == std::string::npos)
                issues.push_back({path + ".ssh_options[" + std::to_string(i) + "]",
                                  path + ".ssh_options[" + std::to_string(i) + "]: write an option as Name=value, as "
                                  "after `ssh -o`"});
            else if (o.is_string() && o.get<std::string>().rfind("StrictHostKeyChecking", 0) == 0)
                issues.push_back({path + ".ssh_options[" + std::to_string(i) + "]",
                                  path + ".ssh_options[" + std::to_string(i) + "]: Labbook always checks host keys "
                                  "strictly; add the host's key to the known_hosts file instead"});
        }
}

std::vector<std::string> lines(const json &v)
{
    if (v.is_string())
        return {v.get<std::string>()};
    return v.get<std::vector<std::string>>();
}

SshEndpoint endpointFrom(const json &e)
{
    SshEndpoint s;
    s.host = e.value("host", std::string());
    s.port = e.value("port", 22);
    s.user = e.value("user", std::string());
    s.identityFile = e.value("identity_file", std::string());
    s.knownHosts = e.value("known_hosts", std::string());
    s.options = e.value("ssh_options", std::vector<std::string>{});
    s.connectTimeout = e.value("connect_timeout", 10);
    // A leading ~ in a local path means this user's home, as in ssh_config.
    for (auto *p : {&s.identityFile, &s.knownHosts})
        if (p->rfind("~/", 0) == 0)
            if (const char *home = std::getenv("HOME"))
                *p = std::string(home) + p->substr(1);
    return s;
}

} // namespace

namespace {
// Each {name} in a command template is {cmd} or one of its vars: an unknown one would reach the remote shell as
// literal text. A worker's arguments may hold braces of their own (a trainer's "--filename={epoch}-best"), so there
// only a near miss of a placeholder Labbook fills ({jornal}, {data_dir}) is refused.
void checkPlaceholders(const json &t, const std::string &path, std::vector<ValidationIssue> &issues)
{
    const auto each = [&](const char *key, const auto &visit) {
        if (t.contains(key) && hasKind(t[key], K::StringList))
            for (size_t i = 0; i < t[key].size(); ++i)
                for (const std::string &name : placeholdersIn(t[key][i].get<std::string>()))
                    visit(path + "." + key + "[" + std::to_string(i) + "]", name);
    };
    std::set<std::string> commandNames = {"cmd"};
    if (t.contains("vars") && t["vars"].is_object())
        for (const auto &[name, value] : t["vars"].items())
            commandNames.insert(name);
    each("command", [&](const std::string &where, const std::string &name) {
        if (!commandNames.count(name))
            issues.push_back({where, where + ": {" + name + "} is not a placeholder here; use {cmd} or a name "
                                     "defined in \"vars\""});
    });
    each("worker", [&](const std::string &where, const std::string &name) {
        for (const auto &known : kWorkerPlaceholders)
            if (name != known && editDistance(name, known) <= (known.size() <= 4 ? 1u : 2u))
                issues.push_back({where, where + ": {" + name + "} is not a placeholder; did you mean {" + known +
                                         "}? (other braces are passed to the worker as written)"});
    });
}

// A Slurm target's time and mem as sbatch takes them: a typo ("2h", "16GB") is said when the file is read, not
// by sbatch for every run.
void checkSlurmLimits(const json &t, const std::string &path, std::vector<ValidationIssue> &issues)
{
    static const std::regex time(R"(\d+|\d+:\d+|\d+:\d+:\d+|\d+-\d+|\d+-\d+:\d+|\d+-\d+:\d+:\d+|UNLIMITED|INFINITE)",
                                 std::regex::icase);
    static const std::regex mem(R"(\d+[KMGT]?)", std::regex::icase);
    const auto given = [&](const char *k) { return t.contains(k) && t[k].is_string() && !t[k].get<std::string>().empty(); };
    if (given("time") && !std::regex_match(t["time"].get<std::string>(), time)) // "": Slurm's default
        issues.push_back({path + ".time", path + ".time: \"" + t["time"].get<std::string>() + "\" is not a time sbatch " +
                          "takes: minutes (\"90\"), \"HH:MM:SS\" (\"02:00:00\"), \"D-HH:MM:SS\" (\"1-12:00:00\") or " +
                          "\"UNLIMITED\""});
    if (given("mem") && !std::regex_match(t["mem"].get<std::string>(), mem))
        issues.push_back({path + ".mem", path + ".mem: \"" + t["mem"].get<std::string>() + "\" is not a size sbatch " +
                          "takes: a number with an optional K, M, G or T (\"16G\", \"4000M\"; megabytes without)"});
}

// A command target's template must say where the remote shell command goes.
void checkCommandTemplate(const json &t, const std::string &path, std::vector<ValidationIssue> &issues)
{
    if (!hasKind(t.value("command", json()), K::StringList))
        return;
    const auto cmd = t["command"].get<std::vector<std::string>>();
    if (cmd.empty() || std::none_of(cmd.begin(), cmd.end(),
                                    [](const std::string &a) { return a.find("{cmd}") != std::string::npos; }))
        issues.push_back({path + ".command", path + ".command: the template needs a {cmd} placeholder where "
                          "the remote shell command goes, e.g. [\"gcloud\", ..., \"--command\", \"{cmd}\"]"});
}

// What a value may hold beyond its type: environment names, one sbatch option per entry, no line breaks, bounds.
void checkValues(const json &t, const std::string &path, std::vector<ValidationIssue> &issues)
{
    if (t.contains("env") && t["env"].is_object())
        for (const auto &[k, v] : t["env"].items())
            if (!isShellName(k))
                issues.push_back({path + ".env." + k, path + ".env." + k + ": not an environment variable name "
                                  "(letters, digits, _; not starting with a digit)"});
    if (t.contains("sbatch") && hasKind(t["sbatch"], K::StringList))
        for (size_t i = 0; i < t["sbatch"].size(); ++i)
            if (const auto &o = t["sbatch"][i].get_ref<const std::string &>(); hasNewline(o) || o.rfind("-", 0) != 0)
                issues.push_back({path + ".sbatch[" + std::to_string(i) + "]",
                                  path + ".sbatch[" + std::to_string(i) + "]: one sbatch option per entry, such as "
                                  "\"--qos=short\" (no line breaks)"});
    for (const char *k : {"partition", "time", "mem", "gres"})
        if (t.contains(k) && t[k].is_string() && hasNewline(t[k].get<std::string>()))
            issues.push_back({path + "." + k, path + "." + k + ": no line breaks"});
    checkSlurmLimits(t, path, issues);
    if (t.contains("cpus") && t["cpus"].is_number_integer() && t["cpus"].get<int>() < 0)
        issues.push_back({path + ".cpus", path + ".cpus: must be 0 (Slurm's default) or more"});
    if (t.contains("work_dir") && t["work_dir"].is_string() && t["work_dir"].get<std::string>().empty())
        issues.push_back({path + ".work_dir", path + ".work_dir: must not be empty"});
}

// One entry of "targets": its name, its type and the keys that type takes, then their values.
void checkTarget(const std::string &name, const json &t, std::vector<ValidationIssue> &issues)
{
    const std::string path = "targets." + name;
    if (name.empty() || name == kLocalTarget || name.find_first_of(" \t\n/'\"") != std::string::npos) {
        issues.push_back({path, path + ": \"" + name + "\" cannot name a target (\"local\" is built in; no "
                          "spaces, quotes or slashes)"});
        return;
    }
    if (!t.is_object()) {
        issues.push_back({path, path + ": must be an object"});
        return;
    }
    const std::string type = t.value("type", std::string());
    std::vector<const std::vector<Key> *> tables = {&kCommonKeys};
    if (type == "ssh")
        tables.push_back(&kSshKeys);
    else if (type == "slurm")
        tables.push_back(&kSlurmKeys);
    else if (type == "command")
        tables.push_back(&kCommandKeys);
    else {
        issues.push_back({path + ".type", path + ".type: " + (t.contains("type") ? t["type"].dump() : "missing") +
                          "; use \"ssh\", \"slurm\" or \"command\""});
        return;
    }
    checkKeys(t, path, tables, issues);
    if (type == "ssh")
        checkEndpoint(t, path, issues);
    if (type == "slurm" && t.contains("ssh") && t["ssh"].is_object()) {
        checkKeys(t["ssh"], path + ".ssh", {&kSshKeys}, issues);
        checkEndpoint(t["ssh"], path + ".ssh", issues);
    }
    if (type == "command")
        checkCommandTemplate(t, path, issues);
    checkPlaceholders(t, path, issues);
    checkValues(t, path, issues);
}

} // namespace

std::vector<ValidationIssue> validateTargetsJson(const json &j)
{
    std::vector<ValidationIssue> issues;
    if (!j.is_object()) {
        issues.push_back({"", "the targets file must hold a JSON object: {\"targets\": {\"name\": {...}}}"});
        return issues;
    }
    for (const auto &[key, v] : j.items())
        if (key != "targets" && key != "version")
            issues.push_back({key, key + ": unknown key; the file holds \"targets\" (and optionally \"version\")"});
    if (!j.contains("targets"))
        return issues;
    if (!j["targets"].is_object()) {
        issues.push_back({"targets", "targets: must be an object of name -> target"});
        return issues;
    }
    for (const auto &[name, t] : j["targets"].items())
        checkTarget(name, t, issues);
    return issues;
}

Result<TargetsFile> targetsFromJson(const json &j)
{
    const auto issues = validateTargetsJson(j);
    if (!issues.empty()) {
        std::string msg;
        for (const auto &i : issues)
            msg += (msg.empty() ? "" : "\n") + i.message;
        return Error{msg};
    }
    TargetsFile file;
    file.targets.push_back(localTarget());
    if (!j.contains("targets"))
        return file;
    for (const auto &[name, t] : j["targets"].items()) {
        Target target;
        target.name = name;
        target.source = t;
        const std::string type = t["type"];
        target.type = type == "ssh" ? TargetType::Ssh : type == "slurm" ? TargetType::Slurm : TargetType::Command;
        if (target.type == TargetType::Ssh)
            target.ssh = endpointFrom(t);
        if (target.type == TargetType::Slurm && t.contains("ssh"))
            target.ssh = endpointFrom(t["ssh"]);
        target.command = t.value("command", std::vector<std::string>{});
        target.vars = t.value("vars", std::map<std::string, std::string>{});
        target.workDir = t.value("work_dir", std::string("labbook"));
        target.description = t.value("description", std::string());
        target.lbk = t.value("lbk", std::string("lbk"));
        if (t.contains("setup"))
            target.setup = lines(t["setup"]);
        target.env = t.value("env", std::map<std::string, std::string>{});
        target.dataRoot = t.value("data_root", std::string());
        target.worker = t.value("worker", std::vector<std::string>{});
        target.partition = t.value("partition", std::string());
        target.time = t.value("time", std::string());
        target.mem = t.value("mem", std::string());
        target.gres = t.value("gres", std::string());
        target.cpus = t.value("cpus", 0);
        target.sbatch = t.value("sbatch", std::vector<std::string>{});
        file.targets.push_back(std::move(target));
    }
    return file;
}

Result<TargetsFile> loadTargets(const fs::path &pathIn)
{
    const fs::path path = pathIn.empty() ? defaultTargetsPath() : pathIn;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        if (!pathIn.empty() && !std::getenv("LABBOOK_TARGETS"))
            return Error{path.string() + ": no such targets file (see docs/LAUNCH.md for its format)"};
        TargetsFile file;
        file.path = path;
        file.targets.push_back(localTarget());
        return file;
    }
    auto j = readJsonFile(path);
    if (!j)
        return j.error();
    auto file = targetsFromJson(*j);
    if (!file) {
        std::string msg;
        size_t start = 0;
        const std::string &all = file.message();
        while (start <= all.size()) {
            const size_t nl = all.find('\n', start);
            msg += (msg.empty() ? "" : "\n") + path.string() + ": " + all.substr(start, nl - start);
            if (nl == std::string::npos)
                break;
            start = nl + 1;
        }
        return Error{msg};
    }
    file->path = path;
    return file;
}

std::vector<std::string> targetKeys(const std::string &type)
{
    const std::vector<Key> *table = type == "ssh"       ? &kSshKeys
                                    : type == "slurm"   ? &kSlurmKeys
                                    : type == "command" ? &kCommandKeys
                                                        : nullptr;
    if (!table)
        return {};
    std::vector<std::string> keys;
    for (const auto *t : {&kCommonKeys, table})
        for (const auto &k : *t)
            keys.push_back(k.name);
    return keys;
}

Status saveTargetsFile(const fs::path &path, const json &document)
{
    if (const auto issues = validateTargetsJson(document); !issues.empty()) {
        std::string msg = path.string() + ": not saved, the targets have problems:";
        for (const auto &i : issues)
            msg += "\n" + i.message;
        return Error{msg};
    }
    std::error_code ec;
    if (!path.parent_path().empty() && !fs::exists(path.parent_path(), ec)) {
        fs::create_directories(path.parent_path(), ec);
        if (ec)
            return Error{path.parent_path().string() + ": cannot create the folder: " + ec.message()};
        fs::permissions(path.parent_path(), fs::perms::owner_all, ec);
    }
    if (auto written = writeFileReplacing(path, document.dump(2) + "\n", 0600); !written)
        return written;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, ec); // it names hosts and keys: the owner's
    return okStatus();
}

} // namespace lbk
