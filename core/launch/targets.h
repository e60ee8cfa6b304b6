#pragma once
// Launch targets: where a run can train besides this machine. A JSON file (docs/LAUNCH.md) names them:
//   ssh      a host reached with OpenSSH (BatchMode, strict host-key checking), running `lbk worker` there;
//   slurm    a Slurm cluster, reached on this machine or over ssh, the worker submitted with sbatch;
//   command  any command template that runs a shell command elsewhere ({cmd}), e.g. `gcloud ... tpu-vm ssh`.
// `local` always exists and needs no entry. Validation names the JSON path of every problem.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiment/schema.h"
#include "util/result.h"

namespace lbk {

enum class TargetType { Local, Ssh, Slurm, Command };
const char *toString(TargetType t);

struct SshEndpoint {
    std::string host;
    int port = 22;
    std::string user;          // empty: ssh's default
    std::string identityFile;  // local path; never printed or stored
    std::string knownHosts;    // local known_hosts file; empty: ssh's default files
    std::vector<std::string> options; // extra `-o` values, e.g. "ProxyJump=bastion"
    int connectTimeout = 10;   // seconds
};

struct Target {
    std::string name;
    TargetType type = TargetType::Local;
    std::optional<SshEndpoint> ssh;   // ssh: required; slurm: optional (absent: sbatch on this machine)
    std::vector<std::string> command; // command: argv template holding {cmd}
    std::map<std::string, std::string> vars; // command: values for the template's other {placeholders}
    std::string workDir = "labbook"; // remote folder for runs and staged data; relative: to the remote home
    std::string lbk = "lbk";          // the remote lbk program
    std::vector<std::string> setup;   // shell lines run before the worker (trusted: from the user's own file)
    std::map<std::string, std::string> env; // exported for every remote command and the worker
    std::string dataRoot;             // remote folder holding the data; empty: data is copied to workDir/data
    std::vector<std::string> worker;  // argv template of another trainer instead of `lbk worker`
    std::string description;          // the user's own words about it ("description"), shown by listed()
    // slurm
    std::string partition, time, mem, gres;
    int cpus = 0;
    std::vector<std::string> sbatch; // extra sbatch options, written as #SBATCH lines
    nlohmann::json source = nlohmann::json::object(); // the entry as written, for the GUI's editor

    bool remote() const { return type != TargetType::Local; }
    // "ssh ada@gpu.example.org:22", "slurm (local)", "command gcloud": no key paths (messages name it so).
    std::string describe() const;
    // describe() and the file's "description" after a dash, for lists of targets (lbk targets, the GUI's menu).
    std::string listed() const;
};

// This machine's built-in target, named kLocalTarget (store/store.h); every TargetsFile lists it first.
Target localTarget();

struct TargetsFile {
    std::filesystem::path path; // where it was read from (may not exist: then only `local`)
    std::vector<Target> targets; // `local` first
    const Target *find(const std::string &name) const;
};

// $XDG_CONFIG_HOME/labbook/targets.json, else ~/.config/labbook/targets.json; $LABBOOK_TARGETS overrides.
std::filesystem::path defaultTargetsPath();
std::vector<ValidationIssue> validateTargetsJson(const nlohmann::json &j);
// The parsed file; every validation issue is one line of the error ("targets.gpu.port: ...").
Result<TargetsFile> targetsFromJson(const nlohmann::json &j);
// A missing file is not an error (only `local` then); an unreadable or invalid one is.
Result<TargetsFile> loadTargets(const std::filesystem::path &path = {});

// The keys an entry of this type ("ssh", "slurm", "command") accepts, for editors; empty for an unknown type.
std::vector<std::string> targetKeys(const std::string &type);
// Writes a whole targets document (validated first: an invalid one is refused with its issues) atomically, mode
// 0600 (it names hosts and key files), creating the folder (0700) when needed.
Status saveTargetsFile(const std::filesystem::path &path, const nlohmann::json &document);

} // namespace lbk
