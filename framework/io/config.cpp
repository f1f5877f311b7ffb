// Config implementation over yaml-cpp nodes (which are reference handles into one shared tree).
#include "io/config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/error.h"

namespace mt {

struct Config::Root {
  YAML::Node tree;
  std::string source;
  std::set<std::string> used;        // full key paths read or touched
  std::set<std::string> overridden;  // full key paths set by --set
  // True when `full` or a section above it was set (or created) by --set.
  bool from_set(const std::string& full) const {
    for (size_t dot = full.size(); dot != std::string::npos; dot = full.rfind('.', dot - 1)) {
      if (overridden.count(full.substr(0, dot))) return true;
      if (dot == 0) break;
    }
    return false;
  }
};

namespace {

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == '.') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

const char* node_kind(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return "a scalar";
    default:
      return "undefined";
  }
}

// Every map key must be a plain scalar ("lr", not "? [a, b]": complex keys cannot name a setting),
// and nesting is bounded, so that no later walk over the tree can fail or recurse without end.
void validate_tree(const YAML::Node& n, const std::string& where, int depth = 0) {
  constexpr int kMaxDepth = 32;
  if (depth > kMaxDepth)
    input_error("config", where, " line ", n.Mark().line + 1, ": nested more than ", kMaxDepth,
                " levels deep");
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!it->first.IsScalar())
        input_error("config", where, " line ", it->first.Mark().line + 1,
                    ": a key must be a plain name, found ", node_kind(it->first));
      validate_tree(it->second, where, depth + 1);
    }
  } else if (n.IsSequence()) {
    for (const YAML::Node& e : n) validate_tree(e, where, depth + 1);
  }
}

// " line N" of a mark (1-based), or "" for a node without one (built by --set or by mutrain).
std::string line_of(const YAML::Mark& m) {
  return m.line >= 0 ? cat(" line ", m.line + 1) : "";
}

// A pass over the YAML event stream before yaml-cpp builds the tree (which shares aliased nodes,
// so that every later walk over it visits them once per alias). It sees anchors, aliases and keys
// with their lines and refuses, with a [config] error:
//   - a key that appears twice in one map, at any depth (naming both lines);
//   - aliases that expand the document to more than kMaxNodes nodes (an "alias bomb": ten levels
//     of nine aliases each is 3.5e9 nodes in 4 KB of text), counted without expanding anything;
//   - an alias inside the node it refers to (a cycle);
//   - nesting deeper than kMaxDepth;
//   - a second YAML document after the first (yaml-cpp would silently ignore it).
// Work and memory are linear in the text.
class Precheck : public YAML::EventHandler {
 public:
  static constexpr uint64_t kMaxNodes = 100000;
  static constexpr int kMaxDepth = 32;

  explicit Precheck(std::string where) : m_where(std::move(where)) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnAnchor(const YAML::Mark&, const std::string& name) override { m_anchor_name = name; }
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    name_anchor(anchor);
    complete(mark, anchor, 1, std::string("~"));
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    name_anchor(anchor);
    if (anchor != YAML::NullAnchor) m_scalar_anchor[anchor] = value;
    complete(mark, anchor, 1, value);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (m_open.count(anchor))
      fail(mark, cat("the alias *", m_anchor_names[anchor],
                     " refers to a node that contains it (a cycle)"));
    ++m_aliases;
    const auto size = m_size.find(anchor);
    const auto scalar = m_scalar_anchor.find(anchor);
    complete(mark, YAML::NullAnchor, size == m_size.end() ? 1 : size->second,
             scalar == m_scalar_anchor.end() ? std::optional<std::string>() : scalar->second,
             anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    bool is_map = false;
    YAML::anchor_t anchor = YAML::NullAnchor;
    YAML::Mark mark;
    std::string path;   // key path of this node ("optimizer.muon", "grid.lr[2]")
    uint64_t size = 1;  // nodes of the expanded subtree so far (itself included)
    size_t items = 0;   // children so far (keys and values count one each in a map)
    std::map<std::string, YAML::Mark> keys;  // plain keys seen in this map, with their marks
    std::string key;  // the key whose value comes next ("" after a complex key)
  };

  [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const {
    input_error("config", m_where, line_of(mark), ": ", message);
  }

  void name_anchor(YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) m_anchor_names[anchor] = m_anchor_name;
    m_anchor_name.clear();
  }

  std::string child_path() const {
    if (m_stack.empty()) return "";
    const Frame& f = m_stack.back();
    if (f.is_map) return f.path.empty() ? f.key : f.path + "." + f.key;
    return cat(f.path, "[", f.items, "]");
  }

  void open(const YAML::Mark& mark, YAML::anchor_t anchor, bool is_map) {
    name_anchor(anchor);
    if (static_cast<int>(m_stack.size()) >= kMaxDepth)
      fail(mark, cat("nested more than ", kMaxDepth, " levels deep"));
    Frame f;
    f.is_map = is_map;
    f.anchor = anchor;
    f.mark = mark;
    f.path = child_path();
    if (anchor != YAML::NullAnchor) m_open.insert(anchor);
    m_stack.push_back(std::move(f));
  }

  void close() {
    Frame f = std::move(m_stack.back());
    m_stack.pop_back();
    if (f.anchor != YAML::NullAnchor) m_open.erase(f.anchor);
    complete(f.mark, f.anchor, f.size, std::nullopt);
  }

  // A node of `size` expanded nodes is complete; `key` is its text when it can be a plain key.
  void complete(const YAML::Mark& mark, YAML::anchor_t anchor, uint64_t size,
                const std::optional<std::string>& key, YAML::anchor_t alias = YAML::NullAnchor) {
    if (anchor != YAML::NullAnchor) m_size[anchor] = size;
    if (m_stack.empty()) return;  // the document's root
    Frame& parent = m_stack.back();
    parent.size = std::min(parent.size + size, kMaxNodes + 1);
    if (parent.size > kMaxNodes) {
      if (m_aliases == 0)
        fail(mark, cat("the document holds more than ", kMaxNodes,
                       " nodes; a config holds a few hundred"));
      const std::string what = alias != YAML::NullAnchor ? cat("the alias *", m_anchor_names[alias],
                                                               " (", size, " nodes)")
                                                         : std::string("this node");
      fail(mark, cat("aliases expand the document to more than ", kMaxNodes, " nodes at ", what,
                     "; a config holds a few hundred (is it an alias bomb?)"));
    }
    if (parent.is_map && parent.items % 2 == 0) {  // a key
      parent.key = key.value_or("");
      if (key) {
        const auto [it, fresh] = parent.keys.emplace(*key, mark);
        if (!fresh) {
          const std::string full = parent.path.empty() ? *key : parent.path + "." + *key;
          fail(mark, cat("duplicate key '", full, "' (first at", line_of(it->second),
                         "); a key may appear once in a map"));
        }
      }
    }
    ++parent.items;
  }

  std::string m_where;
  std::vector<Frame> m_stack;
  std::string m_anchor_name;
  std::map<YAML::anchor_t, std::string> m_anchor_names;
  std::map<YAML::anchor_t, uint64_t> m_size;
  std::map<YAML::anchor_t, std::string> m_scalar_anchor;
  std::set<YAML::anchor_t> m_open;
  size_t m_aliases = 0;
};

// Runs the pre-pass over `text` (the first document), then refuses a second document.
void precheck(const std::string& text, const std::string& where) {
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    Precheck check(where);
    parser.HandleNextDocument(check);
    struct Second : YAML::EventHandler {
      YAML::Mark start = YAML::Mark::null_mark();
      bool seen = false;
      void OnDocumentStart(const YAML::Mark& m) override {
        start = m;
        seen = true;
        throw std::logic_error("second document");  // nothing more to learn: stop parsing
      }
      void OnDocumentEnd() override {}
      void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
      void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
      void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    const std::string&) override {}
      void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                           YAML::EmitterStyle::value) override {}
      void OnSequenceEnd() override {}
      void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                      YAML::EmitterStyle::value) override {}
      void OnMapEnd() override {}
    } second;
    try {
      parser.HandleNextDocument(second);
    } catch (const std::logic_error&) {
    }
    if (second.seen)
      input_error("config", where, line_of(second.start),
                  ": a second YAML document ('---') follows the first; a config is one document");
  } catch (const YAML::Exception& e) {
    input_error("config", where, line_of(e.mark), ": malformed YAML: ", e.msg);
  }
}

}  // namespace

Config::Config() : Config(std::make_shared<Root>(), YAML::Node(YAML::NodeType::Map), "") {
  m_root->tree = m_node;
}

Config::Config(std::shared_ptr<Root> root, YAML::Node node, std::string prefix)
    : m_root(std::move(root)), m_node(node), m_prefix(std::move(prefix)) {}

Config Config::parse(const std::string& text, const std::string& source) {
  auto root = std::make_shared<Root>();
  root->source = source;
  precheck(text, source);
  try {
    root->tree = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    input_error("config", source, line_of(e.mark), ": malformed YAML: ", e.msg);
  }
  if (root->tree.IsNull()) root->tree = YAML::Node(YAML::NodeType::Map);
  if (!root->tree.IsMap())
    input_error("config", source, ": the top level must be a map of sections, found ",
                node_kind(root->tree));
  validate_tree(root->tree, source);
  return Config(root, root->tree, "");
}

Config Config::load_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    input_error("config", "'", path, "' is a directory; give a config file (YAML)");
  std::ifstream in(path);
  if (!in) input_error("config", "cannot open config file '", path, "'");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) input_error("config", "cannot read config file '", path, "'");
  return parse(ss.str(), path);
}

std::string Config::path(const std::string& key) const {
  return m_prefix.empty() ? key : m_prefix + "." + key;
}

const std::string& Config::source() const {
  return m_root->source;
}

std::string Config::where(const std::string& key) const {
  std::string full = path(key);
  if (m_root->from_set(full)) return "(from --set)";
  YAML::Node n = m_node.IsMap() ? m_node[key] : YAML::Node();
  if (n.IsDefined() && n.Mark().line >= 0 && !m_root->source.empty())
    return cat("(", m_root->source, " line ", n.Mark().line + 1, ")");
  if (m_node.Mark().line >= 0 && !m_root->source.empty())
    return cat("(", m_root->source, " line ", m_node.Mark().line + 1, ")");
  return m_root->source.empty() ? "" : cat("(", m_root->source, ")");
}

void Config::fail(const std::string& key, const std::string& message) const {
  input_error("config", path(key), ": ", message, " ", where(key));
}

YAML::Node Config::child(const std::string& key) const {
  if (!m_node.IsMap()) return YAML::Node();
  const YAML::Node& cn = m_node;  // const lookup does not insert the key
  return cn[key];
}

void Config::mark(const std::string& key) const {
  m_root->used.insert(path(key));
}
void Config::touch(const std::string& key) const {
  mark(key);
}

bool Config::has(const std::string& key) const {
  YAML::Node n = child(key);
  return n.IsDefined() && !n.IsNull();
}

Config Config::section(const std::string& key) const {
  mark(key);
  YAML::Node n = child(key);
  if (n.IsDefined() && !n.IsNull() && !n.IsMap())
    fail(key, cat("must be a map (a section with keys), found ", node_kind(n)));
  if (!n.IsDefined() || n.IsNull()) {
    // A zombie node from a const lookup cannot be re-seated: build the section from the map.
    m_node[key] = YAML::Node(YAML::NodeType::Map);
    return Config(m_root, m_node[key], path(key));
  }
  return Config(m_root, n, path(key));
}

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  if (!m_node.IsMap()) return out;
  for (auto it = m_node.begin(); it != m_node.end(); ++it)
    out.push_back(it->first.as<std::string>());
  return out;
}

template <class T>
T Config::convert(const std::string& key, const YAML::Node& n, const char* type_name) const {
  if (!n.IsScalar()) fail(key, cat("must be ", type_name, ", found ", node_kind(n)));
  try {
    return n.as<T>();
  } catch (const YAML::Exception&) {
    fail(key, cat("must be ", type_name, ", found '", n.Scalar(), "'"));
  }
}

template <class T>
static const char* type_name_of() {
  if constexpr (std::is_same_v<T, bool>)
    return "true or false";
  else if constexpr (std::is_integral_v<T>)
    return "an integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "a number";
  else
    return "a string";
}

template <class T>
T Config::get(const std::string& key, const T& def) const {
  mark(key);
  YAML::Node n = child(key);
  if (!n.IsDefined() || n.IsNull()) {
    m_node[key] = def;  // record the default in the resolved config
    return def;
  }
  T v = convert<T>(key, n, type_name_of<T>());
  if constexpr (std::is_floating_point_v<T>)
    if (!std::isfinite(v)) fail(key, cat("must be finite, found ", n.Scalar()));
  return v;
}

template <class T>
T Config::require(const std::string& key) const {
  mark(key);
  YAML::Node n = child(key);
  if (!n.IsDefined() || n.IsNull()) fail(key, "is required but missing");
  return convert<T>(key, n, type_name_of<T>());
}

double Config::get_in(const std::string& key, double def, double lo, double hi) const {
  double v = get<double>(key, def);
  if (v < lo || v > hi) fail(key, cat("= ", v, " is out of range [", lo, ", ", hi, "]"));
  return v;
}

int64_t Config::get_in(const std::string& key, int64_t def, int64_t lo, int64_t hi) const {
  int64_t v = get<int64_t>(key, def);
  if (v < lo || v > hi) fail(key, cat("= ", v, " is out of range [", lo, ", ", hi, "]"));
  return v;
}

double Config::get_positive(const std::string& key, double def) const {
  double v = get<double>(key, def);
  if (!(v > 0)) fail(key, cat("= ", v, " must be > 0"));
  return v;
}

std::string Config::get_choice(const std::string& key, const std::string& def,
                               const std::vector<std::string>& choices) const {
  std::string v = get<std::string>(key, def);
  for (const auto& c : choices)
    if (c == v) return v;
  std::string known;
  for (const auto& c : choices) known += (known.empty() ? "" : ", ") + c;
  fail(key, cat("unknown '", v, "'; known: ", known));
}

std::vector<double> Config::get_list(const std::string& key, const std::vector<double>& def) const {
  mark(key);
  YAML::Node n = child(key);
  if (!n.IsDefined() || n.IsNull()) {
    m_node[key] = def;
    return def;
  }
  if (!n.IsSequence()) fail(key, cat("must be a list of numbers, found ", node_kind(n)));
  std::vector<double> out;
  for (size_t i = 0; i < n.size(); ++i) {
    try {
      out.push_back(n[i].as<double>());
    } catch (const YAML::Exception&) {
      fail(key, cat("element ", i, " must be a number"));
    }
  }
  return out;
}

void Config::apply_override(const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    input_error("config", "--set expects key.path=value, got '", assignment, "'");
  std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  YAML::Node value;
  precheck(text, "--set " + key);
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    input_error("config", "--set ", key, ": cannot parse value '", text, "': ", e.msg);
  }
  validate_tree(value, "--set " + key);
  auto parts = split_dots(key);
  YAML::Node cur = m_node;
  std::string prefix = m_prefix;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix = prefix.empty() ? parts[i] : prefix + "." + parts[i];
    YAML::Node next = cur[parts[i]];
    if (!next.IsDefined() || next.IsNull()) {
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
      m_root->overridden.insert(prefix);  // a section --set created
    } else if (!next.IsMap()) {
      input_error("config", "--set ", key, ": '", prefix, "' is not a section");
    }
    cur.reset(cur[parts[i]]);
  }
  cur[parts.back()] = value;
  m_root->overridden.insert(path(key));
}

void Config::check_unused() const {
  // Walk the tree; the first map key whose path was never read is unknown.
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& n,
                                                                        const std::string& prefix) {
    if (!n.IsMap()) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.as<std::string>();
      std::string full = prefix.empty() ? key : prefix + "." + key;
      if (!m_root->used.count(full)) {
        // A key without a line was written by mutrain: a default written into a section that
        // an alias shares with another (yaml-cpp shares aliased nodes).
        std::string at = m_root->from_set(full) ? std::string("(from --set)")
                         : it->first.Mark().line >= 0
                             ? cat("(", m_root->source, line_of(it->first.Mark()), ")")
                             : cat("(", m_root->source,
                                   ": a default of a section that an alias "
                                   "shares with another; write the section out instead)");
        input_error("config", "unknown key '", full, "' ", at);
      }
      walk(it->second, full);
    }
  };
  walk(m_node, m_prefix);
}

std::string Config::dump() const {
  YAML::Emitter out;
  out << m_node;
  return out.c_str();
}

template bool Config::get<bool>(const std::string&, const bool&) const;
template int Config::get<int>(const std::string&, const int&) const;
template int64_t Config::get<int64_t>(const std::string&, const int64_t&) const;
template double Config::get<double>(const std::string&, const double&) const;
template float Config::get<float>(const std::string&, const float&) const;
template std::string Config::get<std::string>(const std::string&, const std::string&) const;
template std::string Config::require<std::string>(const std::string&) const;
template int64_t Config::require<int64_t>(const std::string&) const;
template double Config::require<double>(const std::string&) const;

}  // namespace mt
