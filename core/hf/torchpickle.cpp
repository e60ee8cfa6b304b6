// A pickle machine restricted to state dicts: the opcodes of protocols 2 to 5 that torch.save emits for a dict of
// tensors, with no way to import or call anything but the few torch functions that rebuild a tensor. The format:
// https://docs.python.org/3/library/pickle.html and CPython's Lib/pickletools.py (the opcode reference).
#include "hf/torchpickle.h"

#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

namespace lbk::hf {

namespace {

// Values live in the machine's arena and refer to each other by plain pointers: a hostile pickle can put a list
// inside itself (a memo GET then APPEND), which reference counting would leak.
struct Value;
using Ref = Value *;

struct Value {
    enum class Kind { None, Bool, Int, BigInt, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Mark };
    Kind kind = Kind::None;
    int64_t i = 0;                           // Int, Bool; Tensor: its index in the machine's tensors
    double f = 0;
    std::string s, s2;                       // Str, BigInt (little-endian bytes), Global (module, name), Storage key
    std::vector<Ref> items;                  // Tuple, List
    std::vector<std::pair<Ref, Ref>> pairs;  // Dict
};

// A state dict makes a few values per tensor (a BERT-base pickle about 3,000); a pickle that makes more than this
// is not one, and refusing it bounds the memory a hostile file costs (each value about 150 bytes).
constexpr size_t kMaxValues = size_t(1) << 20;

// Element sizes of the storage types a state dict may hold.
std::optional<size_t> storageElementSize(const std::string &type)
{
    static const std::map<std::string, size_t> sizes = {
        {"FloatStorage", 4}, {"DoubleStorage", 8}, {"HalfStorage", 2}, {"BFloat16Storage", 2}, {"LongStorage", 8},
        {"IntStorage", 4},   {"ShortStorage", 2},  {"CharStorage", 1}, {"ByteStorage", 1},     {"BoolStorage", 1}};
    if (auto it = sizes.find(type); it != sizes.end())
        return it->second;
    return std::nullopt;
}

class Unpickler {
public:
    // base: where `bytes` starts in the file, for messages.
    Unpickler(std::string_view bytes, const std::string &where, std::map<std::string, PickledStorage> &storages,
              size_t base = 0)
        : m_bytes(bytes), m_where(where), m_storages(storages), m_base(base)
    {
    }

    // Runs to the STOP opcode; the object it leaves.
    Result<Ref> run()
    {
        try {
            return loop();
        } catch (const TooBig &) {
            return fail("it makes more than " + std::to_string(kMaxValues) + " objects, which no state dict does");
        }
    }

    size_t position() const { return m_pos; }
    const PickledTensor &tensor(const Value &v) const { return m_tensors[size_t(v.i)]; }

private:
    struct TooBig {};

    Result<Ref> loop()
    {
        while (true) {
            if (m_pos >= m_bytes.size())
                return fail("the pickle ends without its STOP opcode (the file is cut short)");
            const unsigned char op = byte();
            if (op == '.') {
                if (m_stack.size() != 1 || !m_marks.empty())
                    return fail("the pickle's STOP leaves " + std::to_string(m_stack.size()) + " objects, not one");
                return m_stack.back();
            }
            if (auto s = step(op); !s)
                return s.error();
        }
    }

    Ref make(Value::Kind k)
    {
        if (m_arena.size() >= kMaxValues)
            throw TooBig{};
        m_arena.push_back(std::make_unique<Value>());
        m_arena.back()->kind = k;
        return m_arena.back().get();
    }

    Ref makeInt(int64_t i)
    {
        auto v = make(Value::Kind::Int);
        v->i = i;
        return v;
    }

    Ref makeStr(std::string s, Value::Kind k = Value::Kind::Str)
    {
        auto v = make(k);
        v->s = std::move(s);
        return v;
    }

    Error fail(const std::string &what) const
    {
        return badInput(m_where + ": not a PyTorch state dict this reader understands: " + what + " (byte " +
                        std::to_string(m_base + m_pos) + ")");
    }

    bool has(size_t n) const { return m_bytes.size() - m_pos >= n; }
    unsigned char byte() { return static_cast<unsigned char>(m_bytes[m_pos++]); }
    uint64_t little(size_t n)
    {
        uint64_t v = 0;
        for (size_t k = 0; k < n; ++k)
            v |= uint64_t(static_cast<unsigned char>(m_bytes[m_pos + k])) << (8 * k);
        m_pos += n;
        return v;
    }

    Status push(Ref v)
    {
        m_stack.push_back(v);
        return okStatus();
    }

    Result<Ref> pop()
    {
        if (m_stack.empty() || (!m_marks.empty() && m_marks.back() == m_stack.size()))
            return fail("an opcode takes an object from an empty stack");
        Ref v = m_stack.back();
        m_stack.pop_back();
        return v;
    }

    // The objects above the last MARK, which is removed.
    Result<std::vector<Ref>> popMark()
    {
        if (m_marks.empty())
            return fail("an opcode needs a MARK that is not there");
        const size_t at = m_marks.back();
        m_marks.pop_back();
        std::vector<Ref> items(m_stack.begin() + std::ptrdiff_t(at), m_stack.end());
        m_stack.resize(at);
        return items;
    }

    Status step(unsigned char op)
    {
        switch (op) {
        case 0x80: return skip(1); // PROTO n
        case 0x95: return skip(8); // FRAME length
        case '(': m_marks.push_back(m_stack.size()); return okStatus();
        case 'N': return push(make(Value::Kind::None));
        case 0x88: case 0x89: { auto v = make(Value::Kind::Bool); v->i = op == 0x88; return push(v); }
        case 'J': return fixed(4) ? push(makeInt(int32_t(uint32_t(little(4))))) : truncated();
        case 'K': return fixed(1) ? push(makeInt(byte())) : truncated();
        case 'M': return fixed(2) ? push(makeInt(int64_t(little(2)))) : truncated();
        case 0x8a: case 0x8b: return longInt(op == 0x8a ? 1 : 4);
        case 'G': return binFloat();
        case 'X': case 0x8c: case 0x8d: case 'U': case 'T': case 'C': case 'B': return text(op);
        case 'c': return global();
        case 0x93: return stackGlobal();
        case 'q': case 'r': case 0x94: return memoPut(op);
        case 'h': case 'j': return memoGet(op);
        default: return containers(op);
        }
    }

    bool fixed(size_t n) const { return has(n); }
    Status truncated() const { return fail("the file ends inside an opcode's argument"); }
    Status skip(size_t n)
    {
        if (!has(n))
            return truncated();
        m_pos += n;
        return okStatus();
    }

    Status longInt(size_t lengthBytes)
    {
        if (!has(lengthBytes))
            return truncated();
        const uint64_t n = little(lengthBytes);
        if (!has(n))
            return truncated();
        if (n > 8) {
            auto v = makeStr(std::string(m_bytes.substr(m_pos, n)), Value::Kind::BigInt);
            m_pos += n;
            return push(v);
        }
        uint64_t u = n ? little(n) : 0;
        if (n > 0 && n < 8 && (u >> (8 * n - 1)) & 1) // sign-extend a negative number
            u |= ~uint64_t(0) << (8 * n);
        return push(makeInt(int64_t(u)));
    }

    Status binFloat()
    {
        if (!has(8))
            return truncated();
        uint64_t u = 0;
        for (int k = 0; k < 8; ++k) // big-endian
            u = (u << 8) | byte();
        auto v = make(Value::Kind::Float);
        std::memcpy(&v->f, &u, 8);
        return push(v);
    }

    Status text(unsigned char op)
    {
        const size_t lengthBytes = (op == 0x8c || op == 'U' || op == 'C') ? 1 : op == 0x8d ? 8 : 4;
        if (!has(lengthBytes))
            return truncated();
        const uint64_t n = little(lengthBytes);
        if (!has(n))
            return truncated();
        auto v = makeStr(std::string(m_bytes.substr(m_pos, n)));
        m_pos += n;
        return push(v);
    }

    Result<std::string> line()
    {
        const size_t end = m_bytes.find('\n', m_pos);
        if (end == std::string_view::npos)
            return fail("the file ends inside a GLOBAL opcode's name");
        std::string s(m_bytes.substr(m_pos, end - m_pos));
        m_pos = end + 1;
        return s;
    }

    Status global()
    {
        auto module = line();
        if (!module)
            return module.error();
        auto name = line();
        if (!name)
            return name.error();
        auto v = makeStr(*module, Value::Kind::Global);
        v->s2 = *name;
        return push(v);
    }

    Status stackGlobal()
    {
        auto name = pop();
        if (!name)
            return name.error();
        auto module = pop();
        if (!module)
            return module.error();
        if ((*module)->kind != Value::Kind::Str || (*name)->kind != Value::Kind::Str)
            return fail("STACK_GLOBAL takes two strings");
        auto v = makeStr((*module)->s, Value::Kind::Global);
        v->s2 = (*name)->s;
        return push(v);
    }

    Status memoPut(unsigned char op)
    {
        uint64_t index = m_memo.size();
        if (op != 0x94) {
            const size_t n = op == 'q' ? 1 : 4;
            if (!has(n))
                return truncated();
            index = little(n);
        }
        if (m_stack.empty())
            return fail("a memo opcode with nothing on the stack");
        m_memo[index] = m_stack.back();
        return okStatus();
    }

    Status memoGet(unsigned char op)
    {
        const size_t n = op == 'h' ? 1 : 4;
        if (!has(n))
            return truncated();
        const auto it = m_memo.find(little(n));
        if (it == m_memo.end())
            return fail("a memo opcode refers to an object never stored");
        return push(it->second);
    }

    Status containers(unsigned char op)
    {
        switch (op) {
        case ')': return push(make(Value::Kind::Tuple));
        case ']': return push(make(Value::Kind::List));
        case '}': return push(make(Value::Kind::Dict));
        case 't': case 'l': return fromMark(op == 't' ? Value::Kind::Tuple : Value::Kind::List);
        case 'd': return dictFromMark();
        case 0x85: case 0x86: case 0x87: return smallTuple(op - 0x84);
        case 'a': case 'e': return append(op == 'e');
        case 's': case 'u': return setItems(op == 'u');
        case 'R': return reduce();
        case 'b': return build();
        case 'Q': return persistent();
        case 0x81: case 0x92: return newObject(op == 0x92);
        default: {
            std::string printable = op >= 32 && op < 127 ? std::string(" ('") + char(op) + "')" : std::string();
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", op);
            return fail(std::string("opcode ") + hex + printable + " is not one a state dict uses");
        }
        }
    }

    Status fromMark(Value::Kind kind)
    {
        auto items = popMark();
        if (!items)
            return items.error();
        auto v = make(kind);
        v->items = std::move(*items);
        return push(v);
    }

    Status dictFromMark()
    {
        auto items = popMark();
        if (!items)
            return items.error();
        if (items->size() % 2)
            return fail("DICT with an odd number of objects");
        auto v = make(Value::Kind::Dict);
        for (size_t k = 0; k < items->size(); k += 2)
            v->pairs.emplace_back((*items)[k], (*items)[k + 1]);
        return push(v);
    }

    // The top n objects, in stack order.
    Result<std::vector<Ref>> popTop(size_t n)
    {
        std::vector<Ref> items(n);
        for (size_t k = n; k-- > 0;) {
            auto item = pop();
            if (!item)
                return item.error();
            items[k] = *item;
        }
        return items;
    }

    // The objects an APPENDS or SETITEMS takes (those above the MARK), or an APPEND's or SETITEM's n.
    Result<std::vector<Ref>> popItems(bool many, size_t n) { return many ? popMark() : popTop(n); }

    Status smallTuple(int n)
    {
        auto items = popTop(size_t(n));
        if (!items)
            return items.error();
        auto v = make(Value::Kind::Tuple);
        v->items = std::move(*items);
        return push(v);
    }

    Status append(bool many)
    {
        auto items = popItems(many, 1);
        if (!items)
            return items.error();
        if (m_stack.empty() || m_stack.back()->kind != Value::Kind::List)
            return fail("APPEND to something that is not a list");
        for (Ref i : *items)
            m_stack.back()->items.push_back(i);
        return okStatus();
    }

    Status setItems(bool many)
    {
        auto items = popItems(many, 2);
        if (!items)
            return items.error();
        if (items->size() % 2 || m_stack.empty() || m_stack.back()->kind != Value::Kind::Dict)
            return fail("SETITEMS on something that is not a dict");
        for (size_t k = 0; k < items->size(); k += 2)
            m_stack.back()->pairs.emplace_back((*items)[k], (*items)[k + 1]);
        return okStatus();
    }

    // BUILD sets an object's state: an OrderedDict's attributes (a state dict's _metadata), nothing a tensor
    // needs. The state is dropped.
    Status build()
    {
        auto state = pop();
        if (!state)
            return state.error();
        if (m_stack.empty())
            return fail("BUILD with no object");
        return okStatus();
    }

    // NEWOBJ (NEWOBJ_EX): an instance of a class, which no state dict holds: named, with what to save instead.
    Status newObject(bool withKeywords)
    {
        if (withKeywords && !pop())
            return fail("NEWOBJ_EX with nothing on the stack");
        auto args = pop();
        if (!args)
            return args.error();
        auto cls = pop();
        if (!cls)
            return cls.error();
        if ((*cls)->kind != Value::Kind::Global)
            return fail("it makes an object of an unnamed class");
        const std::string name = (*cls)->s + "." + (*cls)->s2;
        // torch.save(model) of any model (torch.nn's, transformers', the user's own class) pickles it this way.
        return fail("it holds a " + name + " object" +
                    ((*cls)->s.starts_with("torch.nn") ? " (torch.save(model) saves the whole model; save "
                                                         "model.state_dict() instead)"
                                                       : ", which is not part of a state dict of tensors (if it is "
                                                         "the model, torch.save(model) saved the whole of it; save "
                                                         "model.state_dict() instead)"));
    }

    Status reduce()
    {
        auto args = pop();
        if (!args)
            return args.error();
        auto callable = pop();
        if (!callable)
            return callable.error();
        auto v = call(**callable, **args);
        if (!v)
            return v.error();
        return push(*v);
    }

    static bool isInt(const Ref &v) { return v && v->kind == Value::Kind::Int; }
    static bool isIntTuple(const Ref &v)
    {
        if (!v || v->kind != Value::Kind::Tuple)
            return false;
        for (const auto &i : v->items)
            if (!isInt(i))
                return false;
        return true;
    }

    // The callables a state dict's pickle may name, applied to their arguments.
    Result<Ref> call(const Value &callable, const Value &args)
    {
        if (callable.kind != Value::Kind::Global || args.kind != Value::Kind::Tuple)
            return fail("REDUCE of something that is not a named function");
        const std::string name = callable.s + "." + callable.s2;
        const auto &a = args.items;
        if (name == "collections.OrderedDict" && a.empty())
            return make(Value::Kind::Dict);
        if (name == "torch._utils._rebuild_tensor_v2" || name == "torch._utils._rebuild_tensor")
            return rebuildTensor(a);
        if ((name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") &&
            !a.empty() && a[0]->kind == Value::Kind::Tensor)
            return a[0];
        if (name == "torch._tensor._rebuild_from_type_v2" && a.size() >= 3 && a[0]->kind == Value::Kind::Global &&
            a[0]->s == "torch._utils" && a[0]->s2.starts_with("_rebuild_tensor") && a[2]->kind == Value::Kind::Tuple)
            return call(*a[0], *a[2]); // one level: a tensor with attributes, rebuilt as a tensor
        return fail("it calls " + name + ", which is not part of a state dict of tensors");
    }

    Result<Ref> rebuildTensor(const std::vector<Ref> &a)
    {
        if (a.size() < 4 || a[0]->kind != Value::Kind::Storage || !isInt(a[1]) || !isIntTuple(a[2]) ||
            !isIntTuple(a[3]) || a[2]->items.size() != a[3]->items.size())
            return fail("a tensor's arguments are not (storage, offset, size, stride)");
        PickledTensor t;
        t.storage = a[0]->s;
        t.offset = a[1]->i;
        for (size_t k = 0; k < a[2]->items.size(); ++k) {
            t.shape.push_back(a[2]->items[k]->i);
            t.stride.push_back(a[3]->items[k]->i);
        }
        auto v = make(Value::Kind::Tensor);
        v->i = int64_t(m_tensors.size());
        m_tensors.push_back(std::move(t));
        return v;
    }

    // BINPERSID: ('storage', torch.<Type>Storage, key, location, elements[, view]) names a storage kept outside
    // the pickle.
    Status persistent()
    {
        auto pid = pop();
        if (!pid)
            return pid.error();
        const auto &p = (*pid)->items;
        if ((*pid)->kind != Value::Kind::Tuple || p.size() < 5 || p[0]->kind != Value::Kind::Str ||
            p[0]->s != "storage" || p[1]->kind != Value::Kind::Global || p[2]->kind != Value::Kind::Str ||
            !isInt(p[4]) || p[4]->i < 0)
            return fail("a persistent id that is not a storage");
        if (p.size() > 5 && p[5]->kind != Value::Kind::None)
            return fail("a storage view (PyTorch before 0.4); load and save the file again with a newer PyTorch");
        const auto size = storageElementSize(p[1]->s2);
        if (p[1]->s != "torch" || !size)
            return fail("storage type " + p[1]->s + "." + p[1]->s2 + " is not one this reader knows");
        PickledStorage storage{p[1]->s2, *size, p[4]->i};
        const auto [it, fresh] = m_storages.emplace(p[2]->s, storage);
        if (!fresh && (it->second.type != storage.type || it->second.elements != storage.elements))
            return fail("storage " + p[2]->s + " is named twice with different types or sizes");
        return push(makeStr(p[2]->s, Value::Kind::Storage));
    }

    std::string_view m_bytes;
    const std::string &m_where;
    std::map<std::string, PickledStorage> &m_storages;
    size_t m_base = 0;
    size_t m_pos = 0;
    std::vector<PickledTensor> m_tensors;
    std::vector<Ref> m_stack;
    std::vector<size_t> m_marks;
    std::unordered_map<uint64_t, Ref> m_memo;
    std::vector<std::unique_ptr<Value>> m_arena;
};

std::string describe(const Value &v)
{
    switch (v.kind) {
    case Value::Kind::Dict: return "a dict";
    case Value::Kind::List: return "a list";
    case Value::Kind::Tuple: return "a tuple";
    case Value::Kind::Tensor: return "a tensor";
    case Value::Kind::Str: return "text";
    default: return "a value";
    }
}

// A training checkpoint ({"epoch": 3, "state_dict": {...}, ...}) keeps the weights under one of its keys: named.
std::string trainingCheckpointHint(const Value &top)
{
    for (const auto &[key, value] : top.pairs)
        if (key->kind == Value::Kind::Str && value->kind == Value::Kind::Dict)
            return " (a training checkpoint? its '" + key->s + "' holds a dict: save that alone, as torch.save(" +
                   "checkpoint['" + key->s + "'], 'pytorch_model.bin'))";
    return " (a training checkpoint holds one under a key such as 'state_dict': save that alone)";
}

// The top object as named tensors: a dict of text to tensors, nothing else.
Result<PickledStateDict> stateDict(const Unpickler &u, const Value &top, const std::string &where,
                                   std::map<std::string, PickledStorage> storages)
{
    if (top.kind != Value::Kind::Dict)
        return badInput(where + ": holds " + describe(top) + ", not a state dict of named tensors");
    PickledStateDict out;
    for (const auto &[key, value] : top.pairs) {
        if (key->kind != Value::Kind::Str)
            return badInput(where + ": a key of its dict is not text: not a state dict of named tensors");
        if (value->kind != Value::Kind::Tensor)
            return badInput(where + ": '" + key->s + "' holds " + describe(*value) +
                            ", not a tensor: not a state dict of named tensors" + trainingCheckpointHint(top));
        PickledTensor t = u.tensor(*value);
        t.name = key->s;
        if (!viewFits(t, storages.at(t.storage)))
            return badInput(where + ": tensor '" + t.name + "' reaches past the end of its storage");
        out.tensors.push_back(std::move(t));
    }
    out.storages = std::move(storages);
    return out;
}

} // namespace

bool isFloatingStorage(const std::string &type)
{
    return type == "FloatStorage" || type == "DoubleStorage" || type == "HalfStorage" || type == "BFloat16Storage";
}

bool viewFits(const PickledTensor &t, const PickledStorage &s)
{
    if (t.offset < 0 || t.shape.size() != t.stride.size())
        return false;
    for (size_t k = 0; k < t.shape.size(); ++k)
        if (t.shape[k] < 0 || t.stride[k] < 0)
            return false;
    for (int64_t n : t.shape)
        if (n == 0)
            return true; // an empty tensor touches nothing
    if (t.offset >= s.elements)
        return false;
    int64_t last = t.offset; // the highest element the view touches
    for (size_t k = 0; k < t.shape.size(); ++k) {
        if (t.stride[k] > 0 && t.shape[k] - 1 > (s.elements - 1 - last) / t.stride[k])
            return false;
        last += (t.shape[k] - 1) * t.stride[k];
    }
    return true;
}

Result<PickledStateDict> readStateDictPickle(std::string_view pickle, const std::string &where, size_t *consumed,
                                             size_t base)
{
    std::map<std::string, PickledStorage> storages;
    Unpickler u(pickle, where, storages, base);
    auto top = u.run();
    if (!top)
        return top.error();
    if (consumed)
        *consumed = u.position();
    return stateDict(u, **top, where, std::move(storages));
}

namespace {

// One of the small pickles before and after the state dict in the legacy layout, run through the same machine,
// which owns what it returns.
struct SmallPickle {
    std::map<std::string, PickledStorage> storages;
    std::unique_ptr<Unpickler> machine;
    Ref top = nullptr;
};

Result<std::unique_ptr<SmallPickle>> smallPickle(std::string_view file, size_t &pos, const std::string &where)
{
    auto p = std::make_unique<SmallPickle>();
    p->machine = std::make_unique<Unpickler>(file.substr(pos), where, p->storages, pos);
    auto v = p->machine->run();
    if (!v)
        return v.error();
    pos += p->machine->position();
    p->top = *v;
    return p;
}

// The magic number 0x1950a86a20f9469cfc6c, as pickle's LONG1 writes it (little-endian).
constexpr std::string_view kLegacyMagic = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

Status checkLegacyPreamble(std::string_view file, size_t &pos, const std::string &where)
{
    auto magic = smallPickle(file, pos, where);
    if (!magic || (*magic)->top->kind != Value::Kind::BigInt || (*magic)->top->s != kLegacyMagic)
        return badInput(where + ": neither a zip archive nor a legacy torch.save file (its first pickle is not "
                        "PyTorch's magic number)");
    auto protocol = smallPickle(file, pos, where);
    if (!protocol)
        return protocol.error();
    if ((*protocol)->top->kind != Value::Kind::Int || (*protocol)->top->i != 1001)
        return badInput(where + ": a legacy torch.save file of protocol version other than 1001");
    auto info = smallPickle(file, pos, where);
    if (!info)
        return info.error();
    for (const auto &[k, v] : (*info)->top->pairs)
        if (k->kind == Value::Kind::Str && k->s == "little_endian" && v->kind == Value::Kind::Bool && !v->i)
            return badInput(where + ": written on a big-endian machine, which this reader does not convert");
    return okStatus();
}

} // namespace

Result<LegacyCheckpoint> readLegacyCheckpoint(std::string_view file, const std::string &where)
{
    size_t pos = 0;
    if (auto s = checkLegacyPreamble(file, pos, where); !s)
        return s.error();
    size_t used = 0;
    auto dict = readStateDictPickle(file.substr(pos), where, &used, pos);
    if (!dict)
        return dict.error();
    pos += used;
    auto keys = smallPickle(file, pos, where);
    if (!keys)
        return keys.error();
    if ((*keys)->top->kind != Value::Kind::List)
        return badInput(where + ": the storage keys after the state dict are not a list");
    LegacyCheckpoint out;
    for (const auto &key : (*keys)->top->items) {
        if (key->kind != Value::Kind::Str)
            return badInput(where + ": a storage key is not text");
        const auto it = dict->storages.find(key->s);
        if (it == dict->storages.end())
            return badInput(where + ": storage " + key->s + " is listed but no tensor uses it");
        if (file.size() - pos < 8)
            return badInput(where + ": the file ends before storage " + key->s +
                            " (it is cut short: a download that stopped early? fetch it again)");
        uint64_t elements = 0;
        for (size_t k = 0; k < 8; ++k)
            elements |= uint64_t(static_cast<unsigned char>(file[pos + k])) << (8 * k);
        pos += 8;
        if (elements != uint64_t(it->second.elements))
            return badInput(where + ": storage " + key->s + " says it holds " + std::to_string(elements) +
                            " elements where its tensors' pickle says " + std::to_string(it->second.elements) +
                            " (the file is damaged)");
        if (elements > (file.size() - pos) / it->second.elementSize)
            return badInput(where + ": the file ends inside storage " + key->s +
                            " (it is cut short: a download that stopped early? fetch it again)");
        out.storageBytes[key->s] = file.substr(pos, elements * it->second.elementSize);
        pos += elements * it->second.elementSize;
    }
    for (const auto &[key, s] : dict->storages)
        if (!out.storageBytes.count(key))
            return badInput(where + ": storage " + key + " is used by a tensor but not in the file");
    out.dict = std::move(*dict);
    return out;
}

} // namespace lbk::hf
