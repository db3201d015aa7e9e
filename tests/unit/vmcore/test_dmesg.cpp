// SPDX-License-Identifier: GPL-2.0-or-later
// dmesg extraction over synthetic printk buffers laid out in a fake kernel
// memory. The expected texts of the first tests of each format are what
// kexec-tools 2.0.25's vmcore-dmesg printed for ELF vmcores holding the same
// layouts (built by a scratch generator, compared byte for byte).
#include "core/vmcore/dmesg.h"

#include "core/base/bytes.h"
#include "core/base/strings.h"

#include <doctest.h>

#include <array>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

using core::Endian;

// Kernel virtual memory as a sparse set of 4 KiB pages; reads of a page never
// written fail as an unmapped page would.
class FakeKernel : public core::KernelMemory {
public:
    explicit FakeKernel(Endian endian = Endian::Little) : m_endian(endian) { }

    core::Result<void> read(uint64_t vaddr, std::span<uint8_t> out) const override
    {
        for (size_t done = 0; done < out.size(); ++done) {
            auto page = m_pages.find((vaddr + done) / page_bytes);
            if (page == m_pages.end())
                return core::Error::invalid(core::cat("fake kernel: no page at ", core::hex(vaddr + done)));
            out[done] = page->second[(vaddr + done) % page_bytes];
        }
        return {};
    }
    Endian endian() const override { return m_endian; }

    void put_bytes(uint64_t vaddr, std::string_view bytes)
    {
        for (size_t index = 0; index < bytes.size(); ++index)
            m_pages[(vaddr + index) / page_bytes][(vaddr + index) % page_bytes] = static_cast<uint8_t>(bytes[index]);
    }
    void put_zeros(uint64_t vaddr, uint64_t length) { put_bytes(vaddr, std::string(length, '\0')); }
    void put_uint(uint64_t vaddr, unsigned width, uint64_t value)
    {
        uint8_t bytes[8];
        core::store_uint(bytes, width, value, m_endian);
        put_bytes(vaddr, std::string_view(reinterpret_cast<char const*>(bytes), width));
    }
    void unmap(uint64_t vaddr) { m_pages.erase(vaddr / page_bytes); }

private:
    static constexpr uint64_t page_bytes = 4096;
    Endian m_endian;
    std::map<uint64_t, std::array<uint8_t, page_bytes>> m_pages;
};

core::VmcoreInfo parse_info(std::string const& text)
{
    auto info = core::VmcoreInfo::parse(text);
    REQUIRE(info.ok());
    return std::move(info).release_value();
}

std::string remove_line(std::string text, std::string_view line)
{
    auto at = text.find(line);
    REQUIRE(at != std::string::npos);
    return text.erase(at, line.size());
}

// ---- the lockless ring ----

// Where the builder puts things in a 64-bit kernel; a 32-bit one uses the
// same offsets from 0xc2000000.
constexpr uint64_t prb_pointer = 0xffffffff82000000;
constexpr uint64_t printk_rb_static = prb_pointer + 0x100;
constexpr uint64_t descs_address = prb_pointer + 0x100000;
constexpr uint64_t infos_address = prb_pointer + 0x200000;
constexpr uint64_t data_address = prb_pointer + 0x400000;

constexpr uint64_t state_reserved = 0, state_committed = 1, state_finalized = 2, state_reusable = 3;

struct Record {
    std::string text;
    uint64_t ts_nsec { 0 };
    uint64_t state { state_finalized };
    std::optional<uint64_t> text_len {}; // else the text's length
    std::optional<uint64_t> id {};       // else the previous record's id + 1
    std::optional<uint64_t> state_id {}; // the id state_var carries, else id
    std::optional<std::pair<uint64_t, uint64_t>> lpos {}; // else placed like the kernel does
};

// Lays out printk_rb_static, its descriptors, infos and data blocks as
// Linux 6.1 does (x86_64 offsets; a 4-byte word halves the word fields).
class PrbBuilder {
public:
    PrbBuilder(unsigned count_bits, unsigned size_bits, unsigned word_bytes = 8, Endian endian = Endian::Little)
        : m_kernel(endian)
        , m_relocation(word_bytes == 8 ? 0 : 0xc2000000 - prb_pointer)
        , m_count_bits(count_bits)
        , m_size_bits(size_bits)
        , m_word(word_bytes)
    {
        m_kernel.put_uint(at(prb_pointer), m_word, at(printk_rb_static));
        m_kernel.put_zeros(at(printk_rb_static), ringbuffer_size());
        m_kernel.put_uint(at(printk_rb_static) + count_bits_offset(), 4, count_bits);
        m_kernel.put_uint(at(printk_rb_static) + descs_offset(), m_word, at(descs_address));
        m_kernel.put_uint(at(printk_rb_static) + infos_offset(), m_word, at(infos_address));
        m_kernel.put_uint(at(printk_rb_static) + text_data_ring_offset(), 4, size_bits);
        m_kernel.put_uint(at(printk_rb_static) + text_data_ring_offset() + m_word, m_word, at(data_address));
        m_kernel.put_zeros(at(descs_address), desc_size() * count());
        m_kernel.put_zeros(at(infos_address), info_size * count());
        m_kernel.put_zeros(at(data_address), data_size());
    }

    void start_data_at(uint64_t lpos) { m_head_lpos = lpos; }

    void add(Record const& record)
    {
        uint64_t id = record.id.value_or(m_ids.empty() ? 0 : (m_ids.back() + 1) & id_mask());
        m_ids.push_back(id);
        uint64_t begin = no_lpos, next = no_lpos;
        if (record.lpos) {
            begin = record.lpos->first;
            next = record.lpos->second;
        } else if (!record.text.empty()) {
            uint64_t block = core::align_up(m_word + record.text.size(), m_word);
            begin = m_head_lpos;
            next = begin + block;
            uint64_t where = begin % data_size();
            // A block that would cross the ring's end goes to its start.
            if (begin / data_size() != next / data_size()) {
                next = next / data_size() * data_size() + block;
                where = 0;
            }
            m_kernel.put_uint(at(data_address) + where, m_word, id);
            m_kernel.put_bytes(at(data_address) + where + m_word, record.text);
            m_head_lpos = next;
        }
        uint64_t slot = id % count();
        uint64_t desc = at(descs_address) + slot * desc_size();
        m_kernel.put_uint(desc, m_word, record.state << (m_word * 8 - 2) | record.state_id.value_or(id));
        m_kernel.put_uint(desc + m_word, m_word, begin);
        m_kernel.put_uint(desc + 2 * m_word, m_word, next);
        uint64_t info = at(infos_address) + slot * info_size;
        m_kernel.put_uint(info + 8, 8, record.ts_nsec);
        m_kernel.put_uint(info + 16, 2, record.text_len.value_or(record.text.size()));
    }

    void set_ids(uint64_t tail_id, uint64_t head_id)
    {
        m_kernel.put_uint(at(printk_rb_static) + head_id_offset(), m_word, head_id);
        m_kernel.put_uint(at(printk_rb_static) + head_id_offset() + m_word, m_word, tail_id);
        m_ids_set = true;
    }

    // Tail and head bracket the records added, unless set_ids() says otherwise.
    FakeKernel& kernel()
    {
        if (!m_ids_set && !m_ids.empty())
            set_ids(m_ids.front(), m_ids.back());
        return m_kernel;
    }

    std::string vmcoreinfo(std::string_view drop_line = {}) const
    {
        std::string text = core::cat("OSRELEASE=6.1.0-test\n",
            "SYMBOL(prb)=", core::hex(at(prb_pointer)).substr(2), "\n",
            "SIZE(printk_ringbuffer)=", ringbuffer_size(), "\n",
            "OFFSET(printk_ringbuffer.desc_ring)=0\n",
            "OFFSET(printk_ringbuffer.text_data_ring)=", text_data_ring_offset(), "\n",
            "OFFSET(prb_desc_ring.count_bits)=", count_bits_offset(), "\n",
            "OFFSET(prb_desc_ring.descs)=", descs_offset(), "\n",
            "OFFSET(prb_desc_ring.infos)=", infos_offset(), "\n",
            "OFFSET(prb_desc_ring.head_id)=", head_id_offset(), "\n",
            "OFFSET(prb_desc_ring.tail_id)=", head_id_offset() + m_word, "\n",
            "SIZE(prb_desc)=", desc_size(), "\n",
            "OFFSET(prb_desc.state_var)=0\n",
            "OFFSET(prb_desc.text_blk_lpos)=", m_word, "\n",
            "SIZE(prb_data_blk_lpos)=", 2 * m_word, "\n",
            "OFFSET(prb_data_blk_lpos.begin)=0\n",
            "OFFSET(prb_data_blk_lpos.next)=", m_word, "\n",
            "SIZE(printk_info)=", info_size, "\n",
            "OFFSET(printk_info.seq)=0\n",
            "OFFSET(printk_info.ts_nsec)=8\n",
            "OFFSET(printk_info.text_len)=16\n",
            "OFFSET(printk_info.caller_id)=20\n",
            "OFFSET(prb_data_ring.size_bits)=0\n",
            "OFFSET(prb_data_ring.data)=", m_word, "\n",
            "SIZE(atomic_long_t)=", m_word, "\n",
            "OFFSET(atomic_long_t.counter)=0\n");
        return drop_line.empty() ? text : remove_line(text, drop_line);
    }

    uint64_t id_mask() const { return (uint64_t(1) << (m_word * 8 - 2)) - 1; }
    uint64_t data_size() const { return uint64_t(1) << m_size_bits; }

private:
    // The kernel's NO_LPOS: begin == next marks a data-less record.
    static constexpr uint64_t no_lpos = 3;
    static constexpr uint64_t info_size = 88;

    uint64_t at(uint64_t address_in_64_bit_kernel) const { return address_in_64_bit_kernel + m_relocation; }
    uint64_t count() const { return uint64_t(1) << m_count_bits; }
    uint64_t desc_size() const { return 3 * m_word; }
    uint64_t count_bits_offset() const { return 0; }
    uint64_t descs_offset() const { return m_word; }
    uint64_t infos_offset() const { return 2 * m_word; }
    uint64_t head_id_offset() const { return 3 * m_word; }
    uint64_t text_data_ring_offset() const { return 6 * m_word; }
    uint64_t ringbuffer_size() const { return 11 * m_word; }

    FakeKernel m_kernel;
    uint64_t m_relocation; // 32-bit kernels: moves the addresses above below 4 GiB
    unsigned m_count_bits;
    unsigned m_size_bits;
    unsigned m_word;
    uint64_t m_head_lpos { 0 };
    std::vector<uint64_t> m_ids;
    bool m_ids_set { false };
};

std::string extract(PrbBuilder& builder)
{
    auto info = parse_info(builder.vmcoreinfo());
    auto text = core::extract_dmesg(info, builder.kernel());
    if (!text.ok())
        FAIL(text.error().message());
    return text.value();
}

std::string extraction_error(core::VmcoreInfo const& info, core::KernelMemory const& kernel)
{
    auto text = core::extract_dmesg(info, kernel);
    REQUIRE_FALSE(text.ok());
    return text.error().message();
}

TEST_CASE("lockless ring: every kind of record, as vmcore-dmesg prints it")
{
    PrbBuilder builder(4, 9);
    builder.add({ .text = "Linux version 6.1.0-test (gcc) #1 SMP", .ts_nsec = 0 });
    builder.add({ .text = "Command line: BOOT_IMAGE=/vmlinuz root=/dev/sda1", .ts_nsec = 1234 });
    builder.add({ .text = "multi-line record\nsecond line\n  third indented", .ts_nsec = 5'000'000'123 });
    builder.add({ .text = "", .ts_nsec = 5'100'000'000 });
    builder.add({ .text = std::string("ctl \x01\x1f\x7f tab\there cr\rff\fvt\v nul") + std::string(1, '\0') + " utf8 \xc3\xa9 hi\xff", .ts_nsec = 6'000'000'000 });
    builder.add({ .text = "reserved record", .ts_nsec = 7'000'000'000, .state = state_reserved });
    builder.add({ .text = "reusable record", .ts_nsec = 7'000'000'001, .state = state_reusable });
    builder.add({ .text = "committed (not finalized) record", .ts_nsec = 123'456'789'012'345, .state = state_committed });
    builder.add({ .text = "truncated text_len", .ts_nsec = 8'000'000'000, .text_len = 200 });
    builder.add({ .text = "short text_len shows prefix only", .ts_nsec = 8'000'000'001, .text_len = 5 });
    builder.add({ .text = "zero text_len", .ts_nsec = 8'000'000'002, .text_len = 0 });
    builder.add({ .text = "trailing newline\n", .ts_nsec = 9'000'000'000 });

    CHECK(extract(builder)
        == "[    0.000000] Linux version 6.1.0-test (gcc) #1 SMP\n"
           "[    0.000001] Command line: BOOT_IMAGE=/vmlinuz root=/dev/sda1\n"
           "[    5.000000] multi-line record\n"
           "second line\n"
           "  third indented\n"
           "[    5.100000] \n"
           "[    6.000000] ctl \\x01\\x1f\\x7f tab\there cr\rff\fvt\v nul\\x00 utf8 \\xc3\\xa9 hi\\xff\n"
           "[123456.789012] committed (not finalized) record\n"
           "[    8.000000] truncated text_len\\x00\\x00\\x00\\x00\\x00\\x00\n"
           "[    8.000000] short\n"
           "[    8.000000] \n"
           "[    9.000000] trailing newline\n"
           "\n");
}

TEST_CASE("lockless ring: a data block wrapped to the ring's start, ids wrapping through the id mask")
{
    PrbBuilder builder(3, 9);
    builder.start_data_at((uint64_t(1) << 40) + 200);
    uint64_t last_id = builder.id_mask();
    builder.add({ .text = std::string(60, 'A'), .ts_nsec = 1'000'000'000, .id = last_id - 2 });
    builder.add({ .text = std::string(60, 'B'), .ts_nsec = 2'000'000'000 });
    builder.add({ .text = std::string(60, 'C'), .ts_nsec = 3'000'000'000 });
    builder.add({ .text = "D wraps the data ring" + std::string(99, 'd'), .ts_nsec = 4'000'000'000 });
    builder.add({ .text = "E after wrap", .ts_nsec = 99999'999'999'999 });
    builder.add({ .text = "F 6-digit seconds", .ts_nsec = 100000'000'001'000 });

    CHECK(extract(builder)
        == "[    1.000000] " + std::string(60, 'A') + "\n"
           "[    2.000000] " + std::string(60, 'B') + "\n"
           "[    3.000000] " + std::string(60, 'C') + "\n"
           "[    4.000000] D wraps the data ring" + std::string(99, 'd') + "\n"
           "[99999.999999] E after wrap\n"
           "[100000.000001] F 6-digit seconds\n");
}

TEST_CASE("lockless ring: a slot whose state_var carries another id is skipped")
{
    PrbBuilder builder(4, 9);
    builder.add({ .text = "first", .ts_nsec = 1, .id = 16 });
    builder.add({ .text = "stale slot", .ts_nsec = 2, .state_id = 1 });
    builder.add({ .text = "third", .ts_nsec = 3 });
    CHECK(extract(builder) == "[    0.000000] first\n[    0.000000] third\n");
}

TEST_CASE("lockless ring: only the head record, and timestamps at the edges")
{
    PrbBuilder builder(2, 8);
    builder.add({ .text = "max", .ts_nsec = UINT64_MAX });
    CHECK(extract(builder) == "[18446744073.709551] max\n");
}

TEST_CASE("lockless ring of a 32-bit big-endian kernel")
{
    PrbBuilder builder(3, 8, 4, Endian::Big);
    builder.add({ .text = "ppc says hi", .ts_nsec = 42'000'001'000, .id = builder.id_mask() });
    builder.add({ .text = "second", .ts_nsec = 43'000'000'000 });
    CHECK(builder.id_mask() == 0x3fffffff);
    CHECK(extract(builder) == "[   42.000001] ppc says hi\n[   43.000000] second\n");
}

TEST_CASE("lockless ring: a block too small for its id word is skipped, the rest is printed")
{
    PrbBuilder builder(3, 8);
    builder.add({ .text = "before" });
    builder.add({ .text = "corrupt", .lpos = std::pair<uint64_t, uint64_t>(100, 104) });
    builder.add({ .text = "after" });
    CHECK(extract(builder) == "[    0.000000] before\n[    0.000000] after\n");
}

TEST_CASE("lockless ring: corrupt control data is an error naming it")
{
    SUBCASE("tail and head further apart than the ring holds")
    {
        PrbBuilder builder(3, 8);
        builder.add({ .text = "x" });
        builder.set_ids(0, 8);
        auto info = parse_info(builder.vmcoreinfo());
        auto message = extraction_error(info, builder.kernel());
        CHECK(message.find("tail_id 0x0 and head_id 0x8") != std::string::npos);
        CHECK(message.find("holds only 8") != std::string::npos);
    }
    SUBCASE("head before tail")
    {
        PrbBuilder builder(3, 8);
        builder.add({ .text = "x", .id = 5 });
        builder.set_ids(5, 4);
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, builder.kernel()).find("descriptor ring is corrupt") != std::string::npos);
    }
    SUBCASE("an absurd count_bits")
    {
        PrbBuilder builder(3, 8);
        builder.add({ .text = "x" });
        builder.kernel().put_uint(printk_rb_static, 4, 62);
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, builder.kernel()).find("prb_desc_ring.count_bits 62") != std::string::npos);
    }
    SUBCASE("an absurd size_bits")
    {
        PrbBuilder builder(3, 8);
        builder.add({ .text = "x" });
        builder.kernel().put_uint(printk_rb_static + 48, 4, 64);
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, builder.kernel()).find("prb_data_ring.size_bits 64") != std::string::npos);
    }
}

TEST_CASE("lockless ring: a missing VMCOREINFO entry is named")
{
    PrbBuilder builder(3, 8);
    builder.add({ .text = "x" });
    auto info = parse_info(builder.vmcoreinfo("OFFSET(printk_info.text_len)=16\n"));
    CHECK(extraction_error(info, builder.kernel()) == "dmesg: VMCOREINFO has no OFFSET(printk_info.text_len), which the lockless printk ring buffer (Linux 5.10+) needs");

    auto absurd = parse_info(builder.vmcoreinfo("SIZE(prb_desc)=24\n") + "SIZE(prb_desc)=1000000\n");
    CHECK(extraction_error(absurd, builder.kernel()).find("SIZE(prb_desc)=1000000 is implausibly large") != std::string::npos);

    auto not_words = parse_info(remove_line(builder.vmcoreinfo(), "OFFSET(prb_data_blk_lpos.next)=8\n") + "OFFSET(prb_data_blk_lpos.next)=2\n");
    CHECK(extraction_error(not_words, builder.kernel()).find("prb_data_blk_lpos") != std::string::npos);
}

TEST_CASE("lockless ring: unreadable memory is an error naming what was being read")
{
    SUBCASE("the prb pointer")
    {
        PrbBuilder builder(3, 8);
        builder.add({ .text = "x" });
        builder.kernel().unmap(prb_pointer);
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, builder.kernel()).starts_with("dmesg: reading prb pointer at 0xffffffff82000000: "));
    }
    SUBCASE("a record's text")
    {
        PrbBuilder builder(3, 8);
        builder.add({ .text = "x", .id = 7 });
        builder.kernel().unmap(data_address);
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, builder.kernel()).starts_with("dmesg: reading printk record 7 text at 0xffffffff82400008: "));
    }
}

// ---- log_buf records (3.5 to 5.9) ----

constexpr uint64_t log_buf_symbol = 0xffffffff82000000;
constexpr uint64_t log_buf_len_symbol = 0xffffffff82000010;
constexpr uint64_t log_first_idx_symbol = 0xffffffff82000020;
constexpr uint64_t log_next_idx_symbol = 0xffffffff82000030;
constexpr uint64_t log_end_symbol = 0xffffffff82000040;
constexpr uint64_t log_buf_address = 0xffffffff82100000;
constexpr uint64_t log_buf_bytes = 0x400;
constexpr uint64_t printk_log_bytes = 16;

// struct printk_log as x86_64 lays it out: ts_nsec, len, text_len,
// dict_len, facility, flags/level; records 8-byte aligned.
class LogBufBuilder {
public:
    explicit LogBufBuilder(uint64_t first_idx, std::string_view struct_name = "printk_log") : m_struct(struct_name), m_next_idx(first_idx)
    {
        m_kernel.put_uint(log_buf_symbol, 8, log_buf_address);
        m_kernel.put_uint(log_buf_len_symbol, 4, log_buf_bytes);
        m_kernel.put_uint(log_first_idx_symbol, 4, first_idx);
        m_kernel.put_zeros(log_buf_address, log_buf_bytes);
    }

    void add(uint64_t ts_nsec, std::string_view text, uint64_t dict_bytes = 0)
    {
        uint64_t length = core::align_up(printk_log_bytes + text.size() + dict_bytes, 8);
        put_header(m_next_idx, ts_nsec, length, text.size());
        m_kernel.put_bytes(log_buf_address + m_next_idx + printk_log_bytes, text);
        m_kernel.put_bytes(log_buf_address + m_next_idx + printk_log_bytes + text.size(), std::string(dict_bytes, 'D'));
        m_next_idx += length;
    }
    // The kernel's end-of-buffer marker: a zeroed header, then records go on at 0.
    void wrap()
    {
        m_kernel.put_zeros(log_buf_address + m_next_idx, printk_log_bytes);
        m_next_idx = 0;
    }
    void put_header(uint64_t idx, uint64_t ts_nsec, uint64_t length, uint64_t text_len)
    {
        m_kernel.put_uint(log_buf_address + idx, 8, ts_nsec);
        m_kernel.put_uint(log_buf_address + idx + 8, 2, length);
        m_kernel.put_uint(log_buf_address + idx + 10, 2, text_len);
    }

    FakeKernel& kernel()
    {
        m_kernel.put_uint(log_next_idx_symbol, 4, m_next_idx);
        return m_kernel;
    }
    std::string vmcoreinfo() const
    {
        return core::cat("OSRELEASE=4.19.0-test\n",
            "SYMBOL(log_buf)=", core::hex(log_buf_symbol).substr(2), "\n",
            "SYMBOL(log_buf_len)=", core::hex(log_buf_len_symbol).substr(2), "\n",
            "SYMBOL(log_first_idx)=", core::hex(log_first_idx_symbol).substr(2), "\n",
            "SYMBOL(log_next_idx)=", core::hex(log_next_idx_symbol).substr(2), "\n",
            "OFFSET(list_head.prev)=8\n",
            "SIZE(", m_struct, ")=16\n",
            "OFFSET(", m_struct, ".ts_nsec)=0\n",
            "OFFSET(", m_struct, ".len)=8\n",
            "OFFSET(", m_struct, ".text_len)=10\n");
    }

private:
    FakeKernel m_kernel;
    std::string m_struct;
    uint64_t m_next_idx;
};

std::string extract(LogBufBuilder& builder)
{
    auto info = parse_info(builder.vmcoreinfo());
    auto text = core::extract_dmesg(info, builder.kernel());
    if (!text.ok())
        FAIL(text.error().message());
    return text.value();
}

TEST_CASE("log_buf records: a wrapped buffer, as vmcore-dmesg prints it (wrap marker included)")
{
    LogBufBuilder builder(0x300);
    builder.add(1'000'000'000, "old record one");
    builder.add(2'000'000'000, "old two with dict", 13);
    builder.add(3'000'000'000, "multi\nline");
    builder.wrap();
    builder.add(4'000'000'000, "after wrap \x01\xc3\xa9\t!");
    builder.add(123456'000'007'000, "");
    builder.add(5'000'000'000, "last");

    CHECK(extract(builder)
        == "[    1.000000] old record one\n"
           "[    2.000000] old two with dict\n"
           "[    3.000000] multi\n"
           "line\n"
           "[    0.000000] \n"
           "[    4.000000] after wrap \\x01\\xc3\\xa9\t!\n"
           "[123456.000007] \n"
           "[    5.000000] last\n");
}

TEST_CASE("log_buf records: the struct's older name `log`, and an empty log")
{
    LogBufBuilder builder(0, "log");
    builder.add(0, "Linux version 3.10");
    builder.add(1500, "second", 4);
    CHECK(extract(builder) == "[    0.000000] Linux version 3.10\n[    0.000001] second\n");

    LogBufBuilder empty(0x40);
    CHECK(extract(empty).empty());
}

TEST_CASE("log_buf records: corrupt indexes are errors, text past the buffer is skipped")
{
    SUBCASE("a record length leading outside log_buf")
    {
        LogBufBuilder builder(0);
        builder.add(1, "fine");
        builder.put_header(0, 1, 0x2000, 4);
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, builder.kernel()).find("index 0x2000 lies outside log_buf") != std::string::npos);
    }
    SUBCASE("a second wrap marker")
    {
        LogBufBuilder builder(0x100);
        builder.add(1, "one");
        builder.wrap();
        builder.add(2, "two"); // followed by zeros, which read as another marker
        auto& kernel = builder.kernel();
        kernel.put_uint(log_next_idx_symbol, 4, 0x200); // never reached
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, kernel).find("wraps a second time") != std::string::npos);
    }
    SUBCASE("a record shorter than its header")
    {
        LogBufBuilder builder(0);
        builder.add(1, "one");
        builder.add(2, "two");
        builder.put_header(0, 1, 4, 3);
        auto info = parse_info(builder.vmcoreinfo());
        CHECK(extraction_error(info, builder.kernel()).find("shorter than its 16-byte header") != std::string::npos);
    }
    SUBCASE("text_len running past the buffer")
    {
        LogBufBuilder builder(0);
        builder.add(1, "one");
        builder.add(2'000'000'000, "two");
        builder.put_header(0, 1, 0x18, 0xffff);
        CHECK(extract(builder) == "[    2.000000] two\n");
    }
    SUBCASE("text_len running past its own record, inside the buffer (#14)")
    {
        LogBufBuilder builder(0);
        builder.add(1, "one");
        builder.add(2'000'000'000, "two");
        builder.put_header(0, 1, 0x18, 0x40); // 64 bytes of text in a 24-byte record
        CHECK(extract(builder) == "[    2.000000] two\n");
    }
    SUBCASE("a missing offset")
    {
        LogBufBuilder builder(0);
        builder.add(1, "one");
        auto info = parse_info(remove_line(builder.vmcoreinfo(), "OFFSET(printk_log.len)=8\n"));
        CHECK(extraction_error(info, builder.kernel()) == "dmesg: VMCOREINFO has no OFFSET(printk_log.len), which the printk log_buf records (Linux 3.5 to 5.9) needs");
    }
}

// ---- plain-text log_buf (before 3.5) ----

std::string extract_plain_text(uint64_t log_end, std::string const& ring)
{
    FakeKernel kernel;
    kernel.put_uint(log_buf_symbol, 8, log_buf_address);
    kernel.put_uint(log_buf_len_symbol, 4, ring.size());
    kernel.put_uint(log_end_symbol, 4, log_end);
    kernel.put_bytes(log_buf_address, ring);
    auto info = parse_info(core::cat("SYMBOL(log_buf)=", core::hex(log_buf_symbol).substr(2), "\n",
        "SYMBOL(log_buf_len)=", core::hex(log_buf_len_symbol).substr(2), "\n",
        "SYMBOL(log_end)=", core::hex(log_end_symbol).substr(2), "\n",
        "OFFSET(list_head.prev)=8\n"));
    auto text = core::extract_dmesg(info, kernel);
    if (!text.ok())
        FAIL(text.error().message());
    return text.value();
}

TEST_CASE("plain-text log_buf: raw bytes up to log_end, rotated once the ring has filled")
{
    std::string ring = "<6>Linux version 2.6.32\n<4>tw" + std::string(0x100 - 29, '\0');
    CHECK(extract_plain_text(30, ring) == std::string("<6>Linux version 2.6.32\n<4>tw\0", 30));

    std::string letters;
    for (int index = 0; index < 0x100; ++index)
        letters += static_cast<char>('A' + index % 26);
    letters.replace(0x30, 3, "\n\x01\xfe");
    CHECK(extract_plain_text(0x137, letters) == letters.substr(0x37) + letters.substr(0, 0x37));
}

TEST_CASE("no known log format in VMCOREINFO")
{
    FakeKernel kernel;
    auto info = parse_info("OSRELEASE=6.1.0\n");
    CHECK(extraction_error(info, kernel) == "dmesg: VMCOREINFO has neither SYMBOL(prb) nor SYMBOL(log_buf), so the kernel log cannot be found");
}

} // namespace
