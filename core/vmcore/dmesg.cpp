// SPDX-License-Identifier: GPL-2.0-or-later
// The crashed kernel's log, formatted byte for byte as kexec-tools 2.0.25's
// vmcore-dmesg prints it: "[%5llu.%06llu] " before each record, every byte
// that is neither printable ASCII nor whitespace written as \xNN, newlines
// inside a record kept as they are (continuation lines get no prefix), and
// one '\n' after each record. makedumpfile 1.7.2 --dump-dmesg differs: it
// indents continuation lines under the prefix, drops data-less records and
// log_buf wrap markers, and sign-extends escapes (\xffffffc3). Records are
// read one at a time, so a corrupt size never becomes a huge allocation.
#include "core/vmcore/dmesg.h"

#include "core/base/bytes.h"
#include "core/base/log.h"
#include "core/base/strings.h"

#include <algorithm>
#include <vector>

namespace core {

namespace {

// Every structure and member offset involved is a few dozen bytes; anything
// past this is a corrupt note, and the bound keeps offset sums from wrapping.
constexpr uint64_t max_struct_bytes = 4096;

// The log this tool writes is capped: the kernel's biggest configurable
// buffer is 32 MiB (CONFIG_LOG_BUF_SHIFT 25), which with timestamps and
// \xNN escapes fits well inside this. A corrupt ring that would print more
// is cut here, with a last line saying so, instead of growing without end.
constexpr size_t max_dmesg_output_bytes = 64 << 20;

// The lockless ring has one descriptor per 32 bytes of text on average
// (PRB_AVGBITS 5) and at most 2^31 bytes of text (LOG_BUF_LEN_MAX), so no
// kernel has more than 2^26 descriptors: the walk's bound.
constexpr uint32_t max_desc_count_bits = 26;

// True (and the cut noted once) when out has reached the output cap.
bool output_full(std::string& out)
{
    if (out.size() < max_dmesg_output_bytes)
        return false;
    log::warn(cat("dmesg: the log reached ", max_dmesg_output_bytes >> 20, " MiB, more than any kernel's buffer holds; the rest is left out (the ring is corrupt)"));
    out += "[dmesg cut: more than any kernel's log buffer holds]\n";
    return true;
}

// VMCOREINFO look-ups for one log format; a missing or absurd entry is an
// error naming it.
class RequiredEntries {
public:
    RequiredEntries(VmcoreInfo const& info, std::string_view format) : m_info(info), m_format(format) { }

    Result<uint64_t> symbol(std::string_view name) const { return need(m_info.symbol(name), "SYMBOL", name); }
    Result<uint64_t> size(std::string_view name) const { return bounded(need(m_info.size(name), "SIZE", name), "SIZE", name); }
    Result<uint64_t> offset(std::string_view member) const { return bounded(need(m_info.offset(member), "OFFSET", member), "OFFSET", member); }

private:
    Result<uint64_t> need(std::optional<uint64_t> value, std::string_view kind, std::string_view name) const
    {
        if (!value)
            return Error::invalid(cat("dmesg: VMCOREINFO has no ", kind, '(', name, "), which the ", m_format, " needs"));
        return *value;
    }
    Result<uint64_t> bounded(Result<uint64_t> value, std::string_view kind, std::string_view name) const
    {
        if (value.ok() && value.value() >= max_struct_bytes)
            return Error::invalid(cat("dmesg: VMCOREINFO ", kind, '(', name, ")=", value.value(), " is implausibly large; the note is corrupt"));
        return value;
    }

    VmcoreInfo const& m_info;
    std::string_view m_format;
};

// Reads a kernel structure into storage and returns a reader over it.
// `what` names the structure in errors and must outlive the reader.
Result<ByteReader> read_struct(KernelMemory const& kernel, uint64_t vaddr, uint64_t size, std::vector<uint8_t>& storage, std::string_view what)
{
    if (size == 0)
        return Error::invalid(cat("dmesg: VMCOREINFO gives struct ", what, " a size of 0"));
    storage.resize(size);
    TRY(kernel.read(vaddr, storage).context(cat("dmesg: reading ", what, " at ", hex(vaddr))));
    return ByteReader(storage, kernel.endian(), what);
}

Result<uint64_t> read_word(KernelMemory const& kernel, uint64_t vaddr, unsigned width, std::string_view what)
{
    std::vector<uint8_t> storage;
    auto reader = TRY(read_struct(kernel, vaddr, width, storage, what));
    return reader.uint(0, width);
}

Result<uint64_t> address_of_element(uint64_t base, uint64_t index, uint64_t element_size, std::string_view array)
{
    auto address = checked_add(base, index * element_size); // index and size are both bounded, the product cannot wrap
    if (!address)
        return Error::invalid(cat("dmesg: element ", index, " of ", array, " at ", hex(base), " lies past the end of the address space"));
    return *address;
}

// vmcore-dmesg's "[%5llu.%06llu] ": seconds padded to 5 columns, then
// microseconds (truncated, not rounded).
void append_timestamp(std::string& out, uint64_t ts_nsec)
{
    std::string seconds = cat(ts_nsec / 1'000'000'000);
    std::string microseconds = cat(ts_nsec % 1'000'000'000 / 1000);
    out += '[';
    if (seconds.size() < 5)
        out.append(5 - seconds.size(), ' ');
    out += seconds;
    out += '.';
    out.append(6 - microseconds.size(), '0');
    out += microseconds;
    out += "] ";
}

// isprint() || isspace() in the C locale, which vmcore-dmesg runs in (it
// never calls setlocale), so UTF-8 bytes are escaped too.
bool is_kept_verbatim(uint8_t byte) { return (byte >= 0x20 && byte <= 0x7e) || (byte >= '\t' && byte <= '\r'); }

void append_escaped(std::string& out, std::span<uint8_t const> text)
{
    static constexpr char hex_digits[] = "0123456789abcdef";
    for (uint8_t byte : text) {
        if (is_kept_verbatim(byte)) {
            out += static_cast<char>(byte);
        } else {
            out += "\\x";
            out += hex_digits[byte >> 4];
            out += hex_digits[byte & 0xf];
        }
    }
}

Result<void> append_kernel_text(std::string& out, KernelMemory const& kernel, uint64_t vaddr, uint64_t length, std::string_view what)
{
    std::vector<uint8_t> text(length);
    TRY(kernel.read(vaddr, text).context(cat("dmesg: reading ", what, " at ", hex(vaddr))));
    append_escaped(out, text);
    return {};
}

void warn_skipped(uint64_t skipped_count, std::string_view first_record)
{
    if (skipped_count != 0)
        log::warn(cat("dmesg: skipped ", skipped_count, " corrupt printk record(s), the first being ", first_record));
}

// ---- 5.10+: the lockless ring (kernel/printk/printk_ringbuffer.h) ----

constexpr std::string_view lockless_format = "lockless printk ring buffer (Linux 5.10+)";

// Descriptor states, from the top two bits of state_var.
constexpr uint64_t desc_committed = 1;
constexpr uint64_t desc_finalized = 2;

struct LocklessLayout {
    unsigned word_bytes; // unsigned long / atomic_long_t of the crashed kernel
    uint64_t ringbuffer_size;
    uint64_t ringbuffer_desc_ring;
    uint64_t ringbuffer_text_data_ring;
    uint64_t desc_ring_count_bits;
    uint64_t desc_ring_descs;
    uint64_t desc_ring_infos;
    uint64_t desc_ring_head_id;
    uint64_t desc_ring_tail_id;
    uint64_t atomic_long_counter;
    uint64_t desc_size;
    uint64_t desc_state_var;
    uint64_t desc_text_blk_lpos;
    uint64_t lpos_begin;
    uint64_t lpos_next;
    uint64_t data_ring_size_bits;
    uint64_t data_ring_data;
    uint64_t info_size;
    uint64_t info_ts_nsec;
    uint64_t info_text_len;
};

Result<LocklessLayout> lockless_layout(VmcoreInfo const& info)
{
    RequiredEntries entries(info, lockless_format);
    LocklessLayout layout {};
    layout.ringbuffer_size = TRY(entries.size("printk_ringbuffer"));
    layout.ringbuffer_desc_ring = TRY(entries.offset("printk_ringbuffer.desc_ring"));
    layout.ringbuffer_text_data_ring = TRY(entries.offset("printk_ringbuffer.text_data_ring"));
    layout.desc_ring_count_bits = TRY(entries.offset("prb_desc_ring.count_bits"));
    layout.desc_ring_descs = TRY(entries.offset("prb_desc_ring.descs"));
    layout.desc_ring_infos = TRY(entries.offset("prb_desc_ring.infos"));
    layout.desc_ring_head_id = TRY(entries.offset("prb_desc_ring.head_id"));
    layout.desc_ring_tail_id = TRY(entries.offset("prb_desc_ring.tail_id"));
    layout.atomic_long_counter = TRY(entries.offset("atomic_long_t.counter"));
    layout.desc_size = TRY(entries.size("prb_desc"));
    layout.desc_state_var = TRY(entries.offset("prb_desc.state_var"));
    layout.desc_text_blk_lpos = TRY(entries.offset("prb_desc.text_blk_lpos"));
    layout.lpos_begin = TRY(entries.offset("prb_data_blk_lpos.begin"));
    layout.lpos_next = TRY(entries.offset("prb_data_blk_lpos.next"));
    layout.data_ring_size_bits = TRY(entries.offset("prb_data_ring.size_bits"));
    layout.data_ring_data = TRY(entries.offset("prb_data_ring.data"));
    layout.info_size = TRY(entries.size("printk_info"));
    layout.info_ts_nsec = TRY(entries.offset("printk_info.ts_nsec"));
    layout.info_text_len = TRY(entries.offset("printk_info.text_len"));
    // struct prb_data_blk_lpos is { unsigned long begin, next; }, so the
    // distance between them is the crashed kernel's word size.
    uint64_t word_bytes = layout.lpos_next > layout.lpos_begin ? layout.lpos_next - layout.lpos_begin : 0;
    if (word_bytes != 4 && word_bytes != 8)
        return Error::invalid(cat("dmesg: OFFSET(prb_data_blk_lpos.begin)=", layout.lpos_begin, " and OFFSET(prb_data_blk_lpos.next)=", layout.lpos_next, " do not describe two 4- or 8-byte words"));
    layout.word_bytes = static_cast<unsigned>(word_bytes);
    return layout;
}

class LocklessRing {
public:
    static Result<LocklessRing> open(VmcoreInfo const& info, KernelMemory const& kernel);
    Result<std::string> read_all() const;

private:
    enum class Outcome { Printed, NotCommitted, Corrupt };
    LocklessRing(LocklessLayout const& layout, KernelMemory const& kernel) : m_layout(layout), m_kernel(kernel) { }
    Result<Outcome> append_record(std::string& out, uint64_t id) const;

    LocklessLayout m_layout;
    KernelMemory const& m_kernel;
    uint64_t m_id_mask { 0 };
    uint64_t m_desc_count { 0 };
    uint64_t m_descs { 0 };
    uint64_t m_infos { 0 };
    uint64_t m_head_id { 0 };
    uint64_t m_tail_id { 0 };
    uint64_t m_data_size { 0 };
    uint64_t m_data { 0 };
};

Result<LocklessRing> LocklessRing::open(VmcoreInfo const& info, KernelMemory const& kernel)
{
    auto layout = TRY(lockless_layout(info));
    LocklessRing ring(layout, kernel);
    unsigned word = layout.word_bytes;
    unsigned word_bits = word * 8;
    // The top two bits of an id-carrying word hold the descriptor state.
    ring.m_id_mask = (uint64_t(1) << (word_bits - 2)) - 1;

    uint64_t prb_pointer = TRY(RequiredEntries(info, lockless_format).symbol("prb"));
    uint64_t prb = TRY(read_word(kernel, prb_pointer, word, "prb pointer"));
    std::vector<uint8_t> storage;
    auto ringbuffer = TRY(read_struct(kernel, prb, layout.ringbuffer_size, storage, "printk_ringbuffer"));

    uint64_t desc_ring = layout.ringbuffer_desc_ring;
    uint32_t count_bits = TRY(ringbuffer.u32(desc_ring + layout.desc_ring_count_bits));
    // Kernels size the ring from log_buf_len (at most 2^31 bytes), so real
    // counts stay far below 2^31 descriptors.
    if (count_bits > max_desc_count_bits || count_bits >= word_bits - 2)
        return Error::invalid(cat("dmesg: printk_ringbuffer at ", hex(prb), " has prb_desc_ring.count_bits ", count_bits, "; the ring is corrupt"));
    ring.m_desc_count = uint64_t(1) << count_bits;
    ring.m_descs = TRY(ringbuffer.uint(desc_ring + layout.desc_ring_descs, word));
    ring.m_infos = TRY(ringbuffer.uint(desc_ring + layout.desc_ring_infos, word));
    ring.m_head_id = TRY(ringbuffer.uint(desc_ring + layout.desc_ring_head_id + layout.atomic_long_counter, word));
    ring.m_tail_id = TRY(ringbuffer.uint(desc_ring + layout.desc_ring_tail_id + layout.atomic_long_counter, word));

    uint64_t data_ring = layout.ringbuffer_text_data_ring;
    uint32_t size_bits = TRY(ringbuffer.u32(data_ring + layout.data_ring_size_bits));
    if (size_bits >= 32 || size_bits >= word_bits)
        return Error::invalid(cat("dmesg: printk_ringbuffer at ", hex(prb), " has prb_data_ring.size_bits ", size_bits, "; the ring is corrupt"));
    ring.m_data_size = uint64_t(1) << size_bits;
    ring.m_data = TRY(ringbuffer.uint(data_ring + layout.data_ring_data, word));

    // The kernel pushes the tail before the head can lap it, so every live
    // id lies within one ring's worth of descriptors.
    uint64_t span = (ring.m_head_id - ring.m_tail_id) & ring.m_id_mask;
    if (span >= ring.m_desc_count)
        return Error::invalid(cat("dmesg: printk ring buffer tail_id ", hex(ring.m_tail_id), " and head_id ", hex(ring.m_head_id), " are ", span,
            " descriptors apart but the ring holds only ", ring.m_desc_count, "; the descriptor ring is corrupt"));
    return ring;
}

Result<std::string> LocklessRing::read_all() const
{
    std::string out;
    uint64_t span = (m_head_id - m_tail_id) & m_id_mask;
    uint64_t skipped_count = 0;
    std::string first_skipped;
    // From tail to head inclusive, in id order, as vmcore-dmesg walks it.
    for (uint64_t step = 0; step <= span; ++step) {
        if (output_full(out))
            break;
        uint64_t id = (m_tail_id + step) & m_id_mask;
        if (TRY(append_record(out, id)) != Outcome::Corrupt)
            continue;
        if (skipped_count++ == 0)
            first_skipped = cat("id ", id);
    }
    warn_skipped(skipped_count, first_skipped);
    return out;
}

Result<LocklessRing::Outcome> LocklessRing::append_record(std::string& out, uint64_t id) const
{
    unsigned word = m_layout.word_bytes;
    uint64_t index = id & (m_desc_count - 1);
    std::vector<uint8_t> desc_storage;
    uint64_t desc_address = TRY(address_of_element(m_descs, index, m_layout.desc_size, "prb_desc_ring.descs"));
    auto desc = TRY(read_struct(m_kernel, desc_address, m_layout.desc_size, desc_storage, "prb_desc"));

    // A slot whose id is not ours was reused or never written; only
    // committed and finalized records hold text the writer is done with.
    uint64_t state_var = TRY(desc.uint(m_layout.desc_state_var + m_layout.atomic_long_counter, word));
    uint64_t state = state_var >> (word * 8 - 2);
    if ((state_var & m_id_mask) != id || (state != desc_committed && state != desc_finalized))
        return Outcome::NotCommitted;

    uint64_t begin = TRY(desc.uint(m_layout.desc_text_blk_lpos + m_layout.lpos_begin, word)) % m_data_size;
    uint64_t next = TRY(desc.uint(m_layout.desc_text_blk_lpos + m_layout.lpos_next, word)) % m_data_size;

    std::vector<uint8_t> info_storage;
    uint64_t info_address = TRY(address_of_element(m_infos, index, m_layout.info_size, "prb_desc_ring.infos"));
    auto info = TRY(read_struct(m_kernel, info_address, m_layout.info_size, info_storage, "printk_info"));
    uint64_t ts_nsec = TRY(info.u64(m_layout.info_ts_nsec));
    uint16_t text_len = TRY(info.u16(m_layout.info_text_len));

    // Data-less records (empty messages, or text the ring lost) still get
    // their timestamp line.
    if (begin == next) {
        append_timestamp(out, ts_nsec);
        out += '\n';
        return Outcome::Printed;
    }
    // A block that would straddle the ring's end is stored whole at its start.
    if (begin > next)
        begin = 0;
    // Each block starts with its descriptor's id word; one too small for it
    // is corrupt (vmcore-dmesg would read past the block).
    uint64_t text_begin = begin + word;
    if (text_begin > next)
        return Outcome::Corrupt;
    // text_len can exceed the block when the message was truncated.
    uint64_t text_length = std::min<uint64_t>(text_len, next - text_begin);

    append_timestamp(out, ts_nsec);
    uint64_t text_address = TRY(address_of_element(m_data, text_begin, 1, "prb_data_ring.data"));
    TRY(append_kernel_text(out, m_kernel, text_address, text_length, cat("printk record ", id, " text")));
    out += '\n';
    return Outcome::Printed;
}

// ---- 3.5 to 5.9: variable-length records in log_buf (struct printk_log,
// named `log` before 3.11) ----

constexpr std::string_view record_format = "printk log_buf records (Linux 3.5 to 5.9)";

Result<std::string> extract_log_buf_records(VmcoreInfo const& info, KernelMemory const& kernel)
{
    RequiredEntries entries(info, record_format);
    std::string_view struct_name = info.size("printk_log") || !info.size("log") ? "printk_log" : "log";
    uint64_t header_size = TRY(entries.size(struct_name));
    uint64_t ts_nsec_offset = TRY(entries.offset(cat(struct_name, ".ts_nsec")));
    uint64_t len_offset = TRY(entries.offset(cat(struct_name, ".len")));
    uint64_t text_len_offset = TRY(entries.offset(cat(struct_name, ".text_len")));
    // list_head.prev sits one pointer into its struct: the kernel's pointer size.
    uint64_t pointer_bytes = TRY(entries.offset("list_head.prev"));
    if (pointer_bytes != 4 && pointer_bytes != 8)
        return Error::invalid(cat("dmesg: OFFSET(list_head.prev)=", pointer_bytes, " is not a 4- or 8-byte pointer size"));

    uint64_t log_buf = TRY(read_word(kernel, TRY(entries.symbol("log_buf")), static_cast<unsigned>(pointer_bytes), "log_buf"));
    uint64_t log_buf_len = TRY(read_word(kernel, TRY(entries.symbol("log_buf_len")), 4, "log_buf_len"));
    uint64_t first_idx = TRY(read_word(kernel, TRY(entries.symbol("log_first_idx")), 4, "log_first_idx"));
    uint64_t next_idx = TRY(read_word(kernel, TRY(entries.symbol("log_next_idx")), 4, "log_next_idx"));
    if (log_buf_len >= (uint64_t(1) << 31))
        return Error::invalid(cat("dmesg: log_buf_len ", log_buf_len, " is not a valid buffer length; the dump is corrupt"));

    std::string out;
    uint64_t skipped_count = 0;
    std::string first_skipped;
    bool wrapped = false;
    uint64_t idx = first_idx;
    while (idx != next_idx) {
        if (output_full(out))
            break;
        if (!extent_within(idx, header_size, log_buf_len))
            return Error::invalid(cat("dmesg: printk record index ", hex(idx), " lies outside log_buf (", log_buf_len, " bytes at ", hex(log_buf), "); the log is corrupt"));
        std::vector<uint8_t> storage;
        auto header = TRY(read_struct(kernel, log_buf + idx, header_size, storage, "printk_log"));
        uint64_t ts_nsec = TRY(header.u64(ts_nsec_offset));
        uint16_t record_len = TRY(header.u16(len_offset));
        uint16_t text_len = TRY(header.u16(text_len_offset));

        // vmcore-dmesg prints every header it visits, including the zeroed
        // end-of-buffer marker, which shows as "[    0.000000] ".
        // The text lies inside its own record (a zeroed end marker has
        // len 0 and text_len 0); a text_len past it is a corrupt header.
        bool text_in_record = record_len == 0 ? text_len == 0 : header_size + text_len <= record_len;
        if (text_in_record && extent_within(idx + header_size, text_len, log_buf_len)) {
            append_timestamp(out, ts_nsec);
            TRY(append_kernel_text(out, kernel, log_buf + idx + header_size, text_len, "printk_log text"));
            out += '\n';
        } else if (skipped_count++ == 0) {
            first_skipped = cat("the one at log_buf+", hex(idx));
        }

        // len 0 marks the end of the used buffer: go on from its start.
        if (record_len == 0) {
            if (wrapped)
                return Error::invalid(cat("dmesg: printk log_buf at ", hex(log_buf), " wraps a second time at index ", hex(idx), "; the log is corrupt"));
            wrapped = true;
            idx = 0;
        } else if (record_len < header_size) {
            return Error::invalid(cat("dmesg: printk record at log_buf+", hex(idx), " is ", record_len, " bytes long, shorter than its ", header_size, "-byte header; the log is corrupt"));
        } else {
            idx += record_len;
        }
    }
    warn_skipped(skipped_count, first_skipped);
    return out;
}

// ---- before 3.5: log_buf is plain text, log_end counts every byte ever
// written ----

constexpr std::string_view text_format = "plain-text printk log_buf (Linux before 3.5)";

Result<std::string> extract_log_buf_text(VmcoreInfo const& info, KernelMemory const& kernel)
{
    RequiredEntries entries(info, text_format);
    uint64_t pointer_bytes = TRY(entries.offset("list_head.prev"));
    if (pointer_bytes != 4 && pointer_bytes != 8)
        return Error::invalid(cat("dmesg: OFFSET(list_head.prev)=", pointer_bytes, " is not a 4- or 8-byte pointer size"));
    uint64_t log_buf = TRY(read_word(kernel, TRY(entries.symbol("log_buf")), static_cast<unsigned>(pointer_bytes), "log_buf"));
    uint64_t log_end = TRY(read_word(kernel, TRY(entries.symbol("log_end")), 4, "log_end"));
    uint64_t log_buf_len = TRY(read_word(kernel, TRY(entries.symbol("log_buf_len")), 4, "log_buf_len"));
    if (log_buf_len == 0 || log_buf_len >= (uint64_t(1) << 31))
        return Error::invalid(cat("dmesg: log_buf_len ", log_buf_len, " is not a valid buffer length; the dump is corrupt"));

    // Until the buffer first fills, the text is log_buf[0, log_end); after
    // that it is the whole ring, oldest byte at log_end % log_buf_len.
    // Only the newest max_dmesg_output_bytes are kept of a buffer claiming
    // more (log_buf_len is read from the dump: up to 2 GiB).
    std::vector<uint8_t> text;
    if (log_buf_len > max_dmesg_output_bytes) {
        log::warn(cat("dmesg: log_buf_len ", log_buf_len, " is more than any kernel's buffer; keeping its newest ", max_dmesg_output_bytes >> 20, " MiB"));
        uint64_t newest_end = log_end < log_buf_len ? log_end : log_buf_len;
        uint64_t keep = std::min<uint64_t>(newest_end, max_dmesg_output_bytes);
        text.resize(keep);
        uint64_t from = log_end < log_buf_len ? log_end - keep : (log_end % log_buf_len + log_buf_len - keep) % log_buf_len;
        std::span<uint8_t> all(text);
        uint64_t first_part = std::min<uint64_t>(keep, log_buf_len - from);
        TRY(kernel.read(log_buf + from, all.first(first_part)).context(cat("dmesg: reading log_buf at ", hex(log_buf))));
        TRY(kernel.read(log_buf, all.subspan(first_part)).context(cat("dmesg: reading log_buf at ", hex(log_buf))));
    } else if (log_end < log_buf_len) {
        text.resize(log_end);
        TRY(kernel.read(log_buf, text).context(cat("dmesg: reading log_buf at ", hex(log_buf))));
    } else {
        text.resize(log_buf_len);
        uint64_t oldest = log_end % log_buf_len;
        std::span<uint8_t> all(text);
        TRY(kernel.read(log_buf + oldest, all.first(log_buf_len - oldest)).context(cat("dmesg: reading log_buf at ", hex(log_buf))));
        TRY(kernel.read(log_buf, all.subspan(log_buf_len - oldest)).context(cat("dmesg: reading log_buf at ", hex(log_buf))));
    }
    return std::string(text.begin(), text.end());
}

} // namespace

Result<std::string> extract_dmesg(VmcoreInfo const& info, KernelMemory const& kernel)
{
    // The same order vmcore-dmesg tries the formats in.
    if (info.symbol("prb")) {
        auto ring = TRY(LocklessRing::open(info, kernel));
        return ring.read_all();
    }
    if (info.symbol("log_first_idx"))
        return extract_log_buf_records(info, kernel);
    if (info.symbol("log_buf"))
        return extract_log_buf_text(info, kernel);
    return Error::invalid("dmesg: VMCOREINFO has neither SYMBOL(prb) nor SYMBOL(log_buf), so the kernel log cannot be found");
}

} // namespace core
