// `ruvector-dag attention`: per-operator attention weights of a plan, by one
// mechanism or chosen by the policy ("auto").
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_io.h"
#include "commands.h"
#include "ruvector_dag/attention.h"

namespace ruvector_dag::cli {
namespace {

struct AttentionOptionsCli {
  std::string input;
  std::string mechanism = "auto";
  std::string format = "text";
};

int RunAttention(const AttentionOptionsCli& opt) {
  std::optional<AttentionMechanism> forced;
  if (opt.mechanism != "auto") {
    forced = AttentionMechanismFromName(opt.mechanism);
    if (!forced) {
      std::string names;
      for (AttentionMechanism m : kAllAttentionMechanisms) {
        names += (names.empty() ? "" : ", ") + std::string(AttentionMechanismName(m));
      }
      return ReportError("attention", Status::InvalidArgument("unknown mechanism '" + opt.mechanism +
                                                              "'; use auto or one of: " + names));
    }
  }
  DagFormat format = DagFormat::kJson;
  Result<QueryDag> dag = LoadDag(opt.input, &format);
  if (!dag.ok()) return ReportError("attention", dag.status());
  std::string reason = "forced";
  Result<AttentionScores> scores = Status::Internal("no scores");
  if (forced) {
    const ExecutionFeedback feedback = FeedbackFromActuals(*dag);
    scores = ComputeAttention(*dag, *forced, {}, &feedback);
  } else {
    Result<AutoAttention> automatic = ComputeAttentionAuto(*dag);
    if (automatic.ok()) {
      reason = std::string(PolicyReasonName(automatic->decision.reason));
      scores = std::move(automatic->scores);
    } else {
      scores = automatic.status();
    }
  }
  if (!scores.ok()) return ReportError("attention", scores.status().WithContext(opt.input));
  std::string report;
  if (opt.format == "json") {
    nlohmann::ordered_json out;
    out["mechanism"] = std::string(AttentionMechanismName(scores->mechanism));
    out["reason"] = reason;
    nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
    for (size_t i = 0; i < scores->nodes.size(); ++i) {
      nodes.push_back({{"id", scores->nodes[i]},
                       {"type", std::string(OperatorTypeName(dag->node(scores->nodes[i])->type))},
                       {"weight", scores->weights[i]}});
    }
    out["nodes"] = std::move(nodes);
    nlohmann::ordered_json metadata = nlohmann::ordered_json::object();
    for (const AttentionMetric& m : scores->metadata) metadata[std::string(m.name)] = m.value;
    out["metadata"] = std::move(metadata);
    report = out.dump(2) + "\n";
  } else {
    report = fmt::format("attention: {} ({})\n\n", AttentionMechanismName(scores->mechanism), reason);
    for (size_t i = 0; i < scores->nodes.size(); ++i) {
      const NodeId id = scores->nodes[i];
      const int bar = static_cast<int>(scores->weights[i] * 50.0 + 0.5);
      report += fmt::format("{:>5}  {:<22} {:.4f} {}\n", id, OperatorTypeName(dag->node(id)->type),
                            scores->weights[i], std::string(static_cast<size_t>(bar), '#'));
    }
  }
  Status written = WriteOutput("-", report);
  return written.ok() ? kExitOk : ReportError("attention", written);
}

}  // namespace

void RegisterAttention(CLI::App& app, int* exit_code) {
  auto opt = std::make_shared<AttentionOptionsCli>();
  CLI::App* cmd = app.add_subcommand(
      "attention",
      "Attention weights per operator (each in [0,1], summing to 1) by one of the seven mechanisms, "
      "or chosen by the policy from the plan's signals (auto). See docs/attention.md.");
  cmd->add_option("input", opt->input, "plan file (any supported format), or - for stdin")
      ->required();
  cmd->add_option("--mechanism,-m", opt->mechanism,
                  "auto, topological, causal_cone, critical_path, mincut_gated, "
                  "hierarchical_lorentz, parallel_branch or temporal_btsp")
      ->capture_default_str();
  cmd->add_option("--format,-f", opt->format, "output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd->callback([opt, exit_code] { *exit_code = RunAttention(*opt); });
}

}  // namespace ruvector_dag::cli
