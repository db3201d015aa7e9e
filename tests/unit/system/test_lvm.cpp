// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/system/lvm.h"

#include "core/base/bytes.h"
#include "core/base/fd.h"
#include "core/base/fs.h"
#include "core/base/safe_file.h"
#include "core/base/strings.h"
#include "tests/unit/test_support.h"

#include <doctest.h>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using test_support::run_output;
using test_support::ScratchDir;

bool have_lvm() { return ::access("/usr/sbin/lvm", X_OK) == 0 || ::access("/sbin/lvm", X_OK) == 0; }

// PVs on loop devices over image files, with a private LVM_SYSTEM_DIR
// whose filter accepts only those loops, so the host's own devices are
// never touched. lvm2 is the oracle: it writes the metadata, and `lvs`
// says what the table must be.
struct LvmSandbox {
    ScratchDir dir { "kdumpbox-lvm" };
    std::vector<std::string> images;
    std::vector<std::string> loops;
    std::string problem;

    explicit LvmSandbox(unsigned count)
    {
        if (!have_lvm()) {
            problem = "lvm2 is not installed (tests/setup.sh installs it)";
            return;
        }
        std::string filter;
        for (unsigned index = 0; index < count; ++index) {
            std::string image = dir / core::cat("pv", index, ".img");
            std::string loop = run_output("truncate -s 64M '" + image + "' && losetup -f --show '" + image + "' 2>/dev/null");
            if (!loop.starts_with("/dev/loop")) {
                problem = "cannot attach a loop device (not root?)";
                return;
            }
            images.push_back(image);
            loops.push_back(loop);
            filter += core::cat("\"a|^", loop, "$|\", ");
        }
        REQUIRE(core::make_directories(dir / "etc").ok());
        REQUIRE(core::write_text_atomically(dir / "etc/lvm.conf",
            core::cat("devices { filter = [ ", filter, "\"r|.*|\" ] global_filter = [ ", filter, "\"r|.*|\" ] obtain_device_list_from_udev = 0 }\n"
                      "activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }\n"
                      "backup { backup = 0 archive = 0 }\n"))
                    .ok());
    }
    ~LvmSandbox() { detach(); }

    std::string lvm(std::string const& arguments) { return run_output(core::cat("export LVM_SYSTEM_DIR='", dir.path, "/etc' LVM_SUPPRESS_FD_WARNINGS=1; { lvm ", arguments, "; } 2>&1")); }
    std::string lvm_quiet(std::string const& arguments) { return run_output(core::cat("export LVM_SYSTEM_DIR='", dir.path, "/etc' LVM_SUPPRESS_FD_WARNINGS=1; { lvm ", arguments, "; } 2>/dev/null")); }
    void run(std::string const& arguments)
    {
        auto output = lvm(arguments + " && echo ok");
        INFO(arguments, ": ", output);
        REQUIRE(output.ends_with("ok"));
    }
    // Detached, every write is in the image files, which the tests read.
    void detach()
    {
        for (auto const& loop : loops)
            run_output("losetup -d " + loop);
        loops.clear();
    }
    // Which image a /dev/loopN was.
    size_t index_of(std::string const& loop) const
    {
        for (size_t index = 0; index < loops.size(); ++index) {
            if (loops[index] == loop)
                return index;
        }
        FAIL("unknown loop ", loop);
        return 0;
    }
};

core::LvmPvScan scan_image(std::string const& image)
{
    auto fd = core::open_file(image, O_RDONLY);
    REQUIRE(fd.ok());
    auto scan = core::read_lvm_pv(fd->get(), image);
    INFO((scan.ok() ? std::string() : scan.error().message()));
    REQUIRE(scan.ok());
    REQUIRE(scan->has_value());
    return std::move(**scan);
}

// A fake sysfs and /dev: dm-0 with `dm_uuid` over pv0.., each image as a
// block device "7:<index>".
core::FindOptions fake_system(ScratchDir const& dir, std::vector<std::string> const& images, std::string const& dm_uuid, std::string const& dm_name)
{
    core::FindOptions options;
    options.sysfs_root = dir / "sys";
    options.dev_root = dir / "dev";
    options.timeout = std::chrono::milliseconds(300);
    options.poll_interval = std::chrono::milliseconds(50);
    auto block = options.sysfs_root + "/class/block/";
    REQUIRE(core::make_directories(block + "dm-0/dm").ok());
    REQUIRE(core::make_directories(block + "dm-0/slaves").ok());
    REQUIRE(core::make_directories(options.dev_root).ok());
    REQUIRE(core::write_text_atomically(block + "dm-0/dm/uuid", dm_uuid + "\n").ok());
    REQUIRE(core::write_text_atomically(block + "dm-0/dm/name", dm_name + "\n").ok());
    for (size_t index = 0; index < images.size(); ++index) {
        std::string name = core::cat("pv", index);
        REQUIRE(core::make_directories(block + name).ok());
        REQUIRE(core::make_directories(block + "dm-0/slaves/" + name).ok());
        REQUIRE(core::write_text_atomically(block + name + "/dev", core::cat("7:", index, "\n")).ok());
        struct stat status;
        REQUIRE(::stat(images[index].c_str(), &status) == 0);
        REQUIRE(core::write_text_atomically(block + name + "/size", core::cat(status.st_size / 512, "\n")).ok());
        REQUIRE(::symlink(images[index].c_str(), (options.dev_root + "/" + name).c_str()) == 0);
    }
    return options;
}

std::vector<core::LvmPvDevice> devices_of(std::vector<core::LvmPvScan> const& scans)
{
    std::vector<core::LvmPvDevice> devices;
    for (size_t index = 0; index < scans.size(); ++index)
        devices.push_back({ scans[index].label.pv_uuid, core::cat("7:", index), scans[index].device_bytes / 512 });
    return devices;
}

std::string bare(std::string_view uuid) { return *core::lvm_uuid_without_dashes(uuid); }

} // namespace

TEST_CASE("lvm: linear, striped and multi-segment tables match what lvs says lvm2 built")
{
    LvmSandbox sandbox(2);
    if (!sandbox.problem.empty())
        SKIP_TEST(sandbox.problem);
    auto const& a = sandbox.loops[0];
    auto const& b = sandbox.loops[1];
    // b keeps a second metadata copy at its end (--metadatacopies 2).
    sandbox.run("pvcreate -q " + a);
    sandbox.run("pvcreate -q --metadatacopies 2 " + b);
    sandbox.run("vgcreate -q my-vg " + a + " " + b);
    sandbox.run("lvcreate -q --driverloaded n -n lin -L 8M my-vg " + a);
    sandbox.run("lvcreate -q --driverloaded n -n str -i2 -I64k -L 16M my-vg");
    sandbox.run("lvextend -q --driverloaded n -L +12M my-vg/lin " + b);

    // lvm2's own view, in sectors: the oracle for the tables.
    auto segments = sandbox.lvm_quiet("lvs --driverloaded n --noheadings --nosuffix --units s --separator '|' --segments -o lv_name,lv_uuid,vg_uuid,seg_start_pe,seg_size_pe,seg_pe_ranges,stripes,stripe_size,vg_extent_size my-vg");
    auto pvs = sandbox.lvm_quiet("pvs --noheadings --nosuffix --units s --separator '|' -o pv_name,pv_uuid,pe_start");
    INFO(segments, "\n", pvs);
    std::map<std::string, uint64_t> pe_start;
    std::map<std::string, std::string> pv_uuid;
    for (auto line : core::split(pvs, '\n')) {
        auto fields = core::split(core::trim(line), '|');
        REQUIRE(fields.size() == 3);
        pe_start[std::string(fields[0])] = *core::parse_u64(fields[2], "pe_start");
        pv_uuid[std::string(fields[0])] = std::string(fields[1]);
    }
    std::map<std::string, std::string> expected;
    std::map<std::string, std::string> lv_uuid;
    std::string vg_uuid;
    for (auto line : core::split(segments, '\n')) {
        auto fields = core::split(core::trim(line), '|');
        REQUIRE(fields.size() == 9);
        uint64_t extent = *core::parse_u64(fields[8], "extent");
        uint64_t start = *core::parse_u64(fields[3], "start") * extent;
        uint64_t length = *core::parse_u64(fields[4], "size") * extent;
        uint64_t stripes = *core::parse_u64(fields[6], "stripes");
        std::string params = stripes == 1 ? "" : core::cat(stripes, ' ', fields[7]);
        for (auto range : core::split(fields[5], ' ')) {
            auto colon = range.find(':');
            std::string loop(range.substr(0, colon));
            uint64_t first = *core::parse_u64(range.substr(colon + 1, range.find('-') - colon - 1), "first");
            params += core::cat(params.empty() ? "" : " ", "7:", sandbox.index_of(loop), ' ', pe_start[loop] + first * extent);
        }
        expected[std::string(fields[0])] += core::cat(start, ' ', length, ' ', stripes == 1 ? "linear" : "striped", ' ', params, '\n');
        lv_uuid[std::string(fields[0])] = std::string(fields[1]);
        vg_uuid = std::string(fields[2]);
    }
    REQUIRE(expected.size() == 2);
    CHECK(std::count(expected["lin"].begin(), expected["lin"].end(), '\n') == 2);
    auto loops = sandbox.loops;
    sandbox.detach();

    std::vector<core::LvmPvScan> scans;
    std::vector<core::LvmMetadataCopy> copies;
    for (size_t index = 0; index < 2; ++index) {
        scans.push_back(scan_image(sandbox.images[index]));
        CHECK(scans.back().label.pv_uuid == pv_uuid[loops[index]]);
        CHECK(scans.back().label.label_sector == 1);
        CHECK(scans.back().label.device_size_bytes == 64 << 20);
        size_t areas = index == 0 ? 1 : 2;
        REQUIRE(scans.back().label.metadata_areas.size() == areas);
        REQUIRE(scans.back().copies.size() == areas);
        for (auto const& copy : scans.back().copies) {
            INFO(copy.where);
            REQUIRE(copy.metadata.ok());
            copies.push_back(copy);
        }
    }
    auto metadata = core::choose_lvm_metadata(std::move(copies), vg_uuid);
    REQUIRE(metadata.ok());
    CHECK(metadata->vg_name == "my-vg");
    for (auto const& [name, table] : expected) {
        auto const* volume = metadata->find_lv_by_uuid(lv_uuid[name]);
        REQUIRE(volume);
        auto built = core::build_lvm_table(*metadata, *volume, devices_of(scans));
        INFO(name);
        REQUIRE(built.ok());
        CHECK(core::format_dm_table(*built) == table);
    }

    // The host side, from a (fake) sysfs: the plan and its text.
    ScratchDir fake("kdumpbox-lvm-sys");
    auto options = fake_system(fake, sandbox.images, "LVM-" + bare(vg_uuid) + bare(lv_uuid["str"]), "my--vg-str");
    auto plan = core::plan_lvm_volume("dm-0", options);
    INFO((plan.ok() ? std::string() : plan.error().message()));
    REQUIRE(plan.ok());
    CHECK(plan->vg_name == "my-vg");
    CHECK(plan->lv_name == "str");
    CHECK(plan->vg_uuid == vg_uuid);
    CHECK(plan->lv_uuid == lv_uuid["str"]);
    CHECK(plan->pv_uuids == std::vector<std::string> { pv_uuid[loops[0]], pv_uuid[loops[1]] });
    CHECK(plan->modules == std::vector<std::string> { "dm_mod" });
    CHECK(plan->mapper_name() == "my--vg-str");
    CHECK(*core::lvm_dm_uuid(*plan) == "LVM-" + bare(vg_uuid) + bare(lv_uuid["str"]));
    auto reparsed = core::parse_lvm_volume(core::format_lvm_volume(*plan), "plan");
    REQUIRE(reparsed.ok());
    CHECK(*reparsed == *plan);

    // The capture side: an LV already active is used as it is.
    auto active = core::activate_lvm_volume(*plan, options);
    REQUIRE(active.ok());
    CHECK(*active == options.dev_root + "/dm-0");
    // Otherwise it finds the PVs by label and builds the table; creating the
    // device then needs device-mapper, which this host kernel lacks.
    REQUIRE(core::write_text_atomically(options.sysfs_root + "/class/block/dm-0/dm/uuid", "CRYPT-other\n").ok());
    auto activated = core::activate_lvm_volume(*plan, options);
    REQUIRE(!activated.ok());
    CHECK(activated.error().message().find("dm_mod") != std::string::npos);
}

TEST_CASE("lvm: thin pools, snapshots, their origins and internal layers are refused with advice")
{
    LvmSandbox sandbox(1);
    if (!sandbox.problem.empty())
        SKIP_TEST(sandbox.problem);
    auto const& a = sandbox.loops[0];
    sandbox.run("pvcreate -q " + a);
    sandbox.run("vgcreate -q vg0 " + a);
    sandbox.run("lvcreate -q --driverloaded n -n lin -L 8M vg0");
    // lvcreate cannot make a thin pool or a snapshot without device-mapper,
    // but vgcfgrestore writes whatever valid metadata it is given.
    std::string backup = sandbox.dir / "vg0.txt";
    sandbox.run("vgcfgbackup -q --driverloaded n -f " + backup + " vg0");
    auto text = core::read_text_file(backup);
    REQUIRE(text.ok());
    auto lv = [](std::string_view name, std::string_view id, std::string_view status, std::string_view segment) {
        return core::cat(name, " {\nid = \"", id, "\"\nstatus = [", status, "]\nflags = []\nsegment_count = 1\nsegment1 {\nstart_extent = 0\n", segment, "\n}\n}\n");
    };
    std::string added = lv("pool", "cccccc-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa", "\"READ\", \"WRITE\", \"VISIBLE\"", "extent_count = 2\ntype = \"thin-pool\"\nmetadata = \"pool_tmeta\"\npool = \"pool_tdata\"\ntransaction_id = 0\nchunk_size = 128\ndiscards = \"passdown\"\nzero_new_blocks = 1")
        + lv("pool_tmeta", "dddddd-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa", "\"READ\", \"WRITE\"", "extent_count = 1\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv0\", 6]")
        + lv("pool_tdata", "eeeeee-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa", "\"READ\", \"WRITE\"", "extent_count = 2\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv0\", 7]")
        + lv("snap", "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa", "\"READ\", \"WRITE\", \"VISIBLE\"", "extent_count = 1\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv0\", 5]")
        + lv("snapshot0", "bbbbbb-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa", "\"READ\"", "extent_count = 2\ntype = \"snapshot\"\nchunk_size = 8\norigin = \"lin\"\ncow_store = \"snap\"");
    auto end = text->rfind("\t}\n\n}");
    REQUIRE(end != std::string::npos);
    REQUIRE(core::write_text_atomically(backup, text->substr(0, end) + added + text->substr(end)).ok());
    sandbox.run("vgcfgrestore -q --force --driverloaded n -f " + backup + " vg0");
    sandbox.detach();

    auto scan = scan_image(sandbox.images[0]);
    REQUIRE(scan.copies.size() == 1);
    REQUIRE(scan.copies[0].metadata.ok());
    auto const& metadata = scan.copies[0].metadata.value();
    auto refusal = [&](std::string_view name) {
        auto const* volume = metadata.find_lv_by_name(name);
        REQUIRE(volume);
        auto checked = core::check_lvm_volume_supported(metadata, *volume);
        REQUIRE(!checked.ok());
        CHECK(checked.error().errno_code() == ENOTSUP);
        CHECK(checked.error().message().find("ssh or nfs") != std::string::npos);
        CHECK(!core::build_lvm_table(metadata, *volume, devices_of({ scan })).ok());
        return checked.error().message();
    };
    CHECK(refusal("pool").find("vg0/pool is a thin pool") != std::string::npos);
    CHECK(refusal("snap").find("vg0/snap is a snapshot") != std::string::npos);
    CHECK(refusal("snapshot0").find("is a snapshot") != std::string::npos);
    CHECK(refusal("lin").find("vg0/lin is the origin of snapshot snapshot0") != std::string::npos);

    // A dm device whose uuid has a layer suffix is refused before reading.
    ScratchDir fake("kdumpbox-lvm-sys");
    std::string ids = "LVM-" + bare(metadata.vg_uuid) + bare(metadata.find_lv_by_name("pool")->uuid);
    for (std::string suffix : { "-tpool", "-real", "-cow", "-cdata", "-vdata" }) {
        ScratchDir each("kdumpbox-lvm-sys");
        auto options = fake_system(each, sandbox.images, ids + suffix, "vg0-pool" + suffix);
        auto plan = core::plan_lvm_volume("dm-0", options);
        REQUIRE(!plan.ok());
        CHECK(plan.error().errno_code() == ENOTSUP);
        CHECK(plan.error().message().find(suffix) != std::string::npos);
    }
    auto options = fake_system(fake, sandbox.images, ids, "vg0-pool");
    auto plan = core::plan_lvm_volume("dm-0", options);
    REQUIRE(!plan.ok());
    CHECK(plan.error().message().find("thin pool") != std::string::npos);
}

// --- Hostile and synthetic images ---------------------------------------------

namespace {

constexpr uint64_t image_bytes = 8 << 20;
constexpr uint64_t mda_start = 4096;
constexpr uint64_t mda_size = 64 * 1024;
std::string const pv_a_id = "AAAAAAaaaaBBBBbbbbCCCCccccDDDDdd";
std::string const pv_b_id = "EEEEEEeeeeFFFFffffGGGGggggHHHHhh";
std::string const vg_id = "VVVVVVvvvvVVVVvvvvVVVVvvvvVVVVvv";
std::string const lv_id = "LLLLLLllllLLLLllllLLLLllllLLLLll";

std::string metadata_text(uint64_t seqno, std::string_view segments = "")
{
    std::string segment_text = segments.empty() ? std::string("segment_count = 2\n"
                                                              "segment1 {\nstart_extent = 0\nextent_count = 4\ntype = \"striped\"\nstripe_count = 2\nstripe_size = 128\nstripes = [\n\"pv0\", 0,\n\"pv1\", 0\n]\n}\n"
                                                              "segment2 {\nstart_extent = 4\nextent_count = 1\ntype = \"striped\"\nstripe_count = 1 # linear\nstripes = [\n\"pv1\", 2\n]\n}\n")
                                                : std::string(segments);
    return core::cat("test-vg {\nid = \"", core::format_lvm_uuid(vg_id), "\"\nseqno = ", seqno,
        "\nformat = \"lvm2\"\nstatus = [\"RESIZEABLE\", \"READ\", \"WRITE\"]\nflags = []\nextent_size = 2048\n"
        "physical_volumes {\npv0 {\nid = \"", core::format_lvm_uuid(pv_a_id), "\"\ndevice = \"/dev/x\\\"y\"\nstatus = [\"ALLOCATABLE\"]\ndev_size = 16384\npe_start = 2048\npe_count = 7\n}\n"
        "pv1 {\nid = \"", core::format_lvm_uuid(pv_b_id), "\"\nstatus = [\"ALLOCATABLE\"]\ndev_size = 16384\npe_start = 2048\npe_count = 7\n}\n}\n"
        "logical_volumes {\nroot {\nid = \"", core::format_lvm_uuid(lv_id), "\"\nstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\nflags = []\n", segment_text, "}\n}\n}\n"
        "# Generated by a test\ncontents = \"Text Format Volume Group\"\nversion = 1\ndescription = \"\"\ncreation_time = 1796293860\t# a comment\n");
}

// An image holding a PV label in sector 1 and one metadata area whose
// text (with its NUL) starts at text_offset within the area, wrapping past
// the area's end if it must, as lvm2 writes it.
std::vector<uint8_t> pv_image(std::string const& pv_id, std::string const& text, uint64_t text_offset = 512)
{
    core::ByteWriter out(core::Endian::Little);
    out.resize(image_bytes);
    uint64_t label = 512;
    out.put_string(label, "LABELONE");
    out.put_u64(label + 8, 1);
    out.put_u32(label + 20, 32);
    out.put_string(label + 24, "LVM2 001");
    out.put_string(label + 32, pv_id);
    out.put_u64(label + 64, image_bytes);
    out.put_u64(label + 72, 1 << 20); // data area, to the end
    out.put_u64(label + 104, mda_start);
    out.put_u64(label + 112, mda_size);
    out.put_u32(label + 16, core::lvm_crc32(out.bytes().subspan(label + 20, 512 - 20)));

    std::string with_nul = text + '\0';
    std::span<uint8_t const> text_bytes(reinterpret_cast<uint8_t const*>(with_nul.data()), with_nul.size());
    uint64_t first = std::min<uint64_t>(text_bytes.size(), mda_size - text_offset);
    out.put_bytes(mda_start + text_offset, text_bytes.first(first));
    out.put_bytes(mda_start + 512, text_bytes.subspan(first));
    out.put_string(mda_start + 4, " LVM2 x[5A%r0N*>");
    out.put_u32(mda_start + 20, 1);
    out.put_u64(mda_start + 24, mda_start);
    out.put_u64(mda_start + 32, mda_size);
    out.put_u64(mda_start + 40, text_offset);
    out.put_u64(mda_start + 48, text_bytes.size());
    out.put_u32(mda_start + 56, core::lvm_crc32(text_bytes));
    out.put_u32(mda_start, core::lvm_crc32(out.bytes().subspan(mda_start + 4, 508)));
    auto bytes = out.bytes();
    return { bytes.begin(), bytes.end() };
}

void fix_mda_crc(std::vector<uint8_t>& image) { core::store_uint(image.data() + mda_start, 4, core::lvm_crc32(std::span(image).subspan(mda_start + 4, 508)), core::Endian::Little); }

core::LvmPvScan scan_bytes(ScratchDir const& dir, std::vector<uint8_t> const& image, std::string const& name = "pv.img")
{
    std::string path = dir / name;
    auto fd = core::open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd.ok());
    REQUIRE(core::write_all(fd->get(), image, path).ok());
    return scan_image(path);
}

std::string copy_error(core::LvmPvScan const& scan)
{
    REQUIRE(scan.copies.size() == 1);
    REQUIRE(!scan.copies[0].metadata.ok());
    return scan.copies[0].metadata.error().message();
}

std::vector<core::LvmPvDevice> synthetic_devices() { return { { core::format_lvm_uuid(pv_a_id), "8:1", 16384 }, { core::format_lvm_uuid(pv_b_id), "8:17", 16384 } }; }

} // namespace

TEST_CASE("lvm: the CRC is lvm2's (initial 0xf597a6cf, no final inversion)")
{
    CHECK(core::lvm_crc32({}) == 0xf597a6cf);
    // The raw register of the reflected 0xedb88320 CRC over "123456789"
    // started from 0xffffffff is ~0xcbf43926.
    std::string digits = "123456789";
    CHECK(core::lvm_crc32({ reinterpret_cast<uint8_t const*>(digits.data()), digits.size() }, 0xffffffff) == ~uint32_t(0xcbf43926));
}

TEST_CASE("lvm: a synthetic PV reads back, its text wrapped around the circular buffer or not")
{
    ScratchDir dir("kdumpbox-lvm");
    auto text = metadata_text(7);
    for (uint64_t offset : { uint64_t(512), mda_size - 1024, mda_size - 1 }) {
        INFO("text offset ", offset);
        auto scan = scan_bytes(dir, pv_image(pv_a_id, text, offset));
        CHECK(scan.label.pv_uuid == core::format_lvm_uuid(pv_a_id));
        REQUIRE(scan.copies.size() == 1);
        INFO((scan.copies[0].metadata.ok() ? std::string() : scan.copies[0].metadata.error().message()));
        REQUIRE(scan.copies[0].metadata.ok());
        auto const& metadata = scan.copies[0].metadata.value();
        CHECK(metadata.seqno == 7);
        CHECK(metadata.vg_name == "test-vg");
        auto const* root = metadata.find_lv_by_uuid(core::format_lvm_uuid(lv_id));
        REQUIRE(root);
        auto table = core::build_lvm_table(metadata, *root, synthetic_devices());
        REQUIRE(table.ok());
        CHECK(core::format_dm_table(*table) == "0 8192 striped 2 128 8:1 2048 8:17 2048\n8192 2048 linear 8:17 6144\n");
    }
    auto wrapped = core::mda_text_extents({ mda_start, mda_size, mda_size - 100, 300, 0, false });
    REQUIRE(wrapped.size() == 2);
    CHECK(wrapped[0] == core::LvmDiskArea { mda_start + mda_size - 100, 100 });
    CHECK(wrapped[1] == core::LvmDiskArea { mda_start + 512, 200 });
}

TEST_CASE("lvm: labels and metadata-area headers that do not check out")
{
    ScratchDir dir("kdumpbox-lvm");
    auto good = pv_image(pv_a_id, metadata_text(1));

    auto bad_label_crc = good;
    bad_label_crc[512 + 100] ^= 1; // inside the CRC'd range
    auto scan = core::parse_pv_label(std::span(bad_label_crc).first(2048));
    REQUIRE(scan.ok());
    CHECK(!scan->has_value()); // lvm2 ignores such a label

    auto wrong_sector = good;
    wrong_sector[512 + 8] = 2;
    CHECK(!core::parse_pv_label(std::span(wrong_sector).first(2048))->has_value());
    CHECK(!core::parse_pv_label(std::span(good).first(100))->has_value());

    auto bad_magic = good;
    bad_magic[mda_start + 5] = 'X';
    fix_mda_crc(bad_magic);
    CHECK(copy_error(scan_bytes(dir, bad_magic)).find("magic") != std::string::npos);

    auto bad_mda_crc = good;
    bad_mda_crc[mda_start + 30] ^= 1;
    CHECK(copy_error(scan_bytes(dir, bad_mda_crc)).find("header checksum") != std::string::npos);

    auto bad_text = good;
    bad_text[mda_start + 600] ^= 1;
    CHECK(copy_error(scan_bytes(dir, bad_text)).find("text checksum") != std::string::npos);

    auto text_outside = good;
    core::store_uint(text_outside.data() + mda_start + 40, 8, mda_size, core::Endian::Little);
    fix_mda_crc(text_outside);
    CHECK(copy_error(scan_bytes(dir, text_outside)).find("outside the area") != std::string::npos);

    auto huge_text = good;
    core::store_uint(huge_text.data() + mda_start + 48, 8, UINT64_MAX, core::Endian::Little);
    fix_mda_crc(huge_text);
    CHECK(copy_error(scan_bytes(dir, huge_text)).find("does not fit") != std::string::npos);

    auto area_past_end = good;
    core::store_uint(area_past_end.data() + mda_start + 32, 8, image_bytes, core::Endian::Little);
    core::store_uint(area_past_end.data() + 512 + 112, 8, 0, core::Endian::Little);
    core::store_uint(area_past_end.data() + 512 + 16, 4, core::lvm_crc32(std::span(area_past_end).subspan(512 + 20, 492)), core::Endian::Little);
    fix_mda_crc(area_past_end);
    CHECK(copy_error(scan_bytes(dir, area_past_end)).find("past the device's end") != std::string::npos);

    // A truncated text whose checksum was made to match still fails to parse.
    auto text = metadata_text(1);
    auto truncated = scan_bytes(dir, pv_image(pv_a_id, text.substr(0, text.size() / 2)));
    CHECK(copy_error(truncated).find("truncated") != std::string::npos);
}

TEST_CASE("lvm: the text parser is strict and bounded")
{
    auto fails_with = [](std::string const& text, std::string_view expected) {
        auto parsed = core::parse_lvm_metadata(text);
        INFO(text.substr(0, 200));
        REQUIRE(!parsed.ok());
        INFO(parsed.error().message());
        CHECK(parsed.error().message().find(expected) != std::string::npos);
    };
    auto good = metadata_text(3);
    auto parsed = core::parse_lvm_metadata(good);
    REQUIRE(parsed.ok());
    CHECK(parsed->physical_volumes.size() == 2);
    CHECK(parsed->extent_size_sectors == 2048);

    std::string deep = "contents = \"Text Format Volume Group\"\nversion = 1\n";
    for (int i = 0; i < 10000; ++i)
        deep += "a {";
    fails_with(deep, "nested deeper");
    fails_with(std::string(good).replace(good.find("seqno = 3"), 9, "seqno = 99999999999999999999999"), "out of range");
    fails_with(std::string(good).replace(good.find("seqno = 3"), 9, "seqno = 4294967296"), "out of range");
    fails_with(std::string(good).replace(good.find("extent_size = 2048"), 18, "extent_size = -1"), "out of range");
    fails_with(std::string(good).replace(good.find("seqno = 3"), 9, "seqno = 3 seqno = 4"), "twice");
    fails_with(std::string(good).replace(good.find("seqno = 3"), 9, "seqno = 3x"), "integer");
    fails_with(std::string(good).replace(good.find("seqno = 3"), 9, "seqno = 1.5"), "integer");
    fails_with(std::string(good).replace(good.find("version = 1"), 11, "version = 2"), "version");
    fails_with(std::string(good).replace(good.find("\"pv0\", 0,"), 9, "\"pv0\" 0,"), "','");
    fails_with(std::string(good).replace(good.find("stripe_count = 2"), 16, "stripe_count = 3"), "stripe_count 3");
    fails_with(std::string(good).replace(good.find("segment_count = 2"), 17, "segment_count = 3"), "segment_count is 3");
    fails_with(good + "}", "'}'");
    fails_with(good.substr(0, good.find("pe_count")) + "pe_count = \"x", "truncated");
    fails_with(std::string(good).replace(good.find("ALLOCATABLE"), 1, std::string(1, '\0')), "NUL");
    fails_with("contents = \"Text Format Volume Group\"\nversion = 1\n", "no volume group");
    fails_with(std::string(good).replace(good.find("id = \""), 10, "id = \"-"), "uuid");
    // Escapes: device = "/dev/x\"y" parses.
    CHECK(parsed->vg_name == "test-vg");
    // A huge flat list is capped.
    std::string list = "a = [";
    for (size_t i = 0; i <= core::lvm_max_list_items; ++i)
        list += "1,";
    fails_with(list + "1]", "list longer");
}

TEST_CASE("lvm: tables refuse segments past a PV, gaps, missing PVs and stacked LVs")
{
    auto table_error = [](std::string const& segments, std::vector<core::LvmPvDevice> devices = synthetic_devices()) {
        auto metadata = core::parse_lvm_metadata(metadata_text(1, segments));
        INFO((metadata.ok() ? std::string() : metadata.error().message()));
        REQUIRE(metadata.ok());
        auto table = core::build_lvm_table(*metadata, metadata->logical_volumes[0], devices);
        REQUIRE(!table.ok());
        return table.error().message();
    };
    auto linear = [](uint64_t start, uint64_t count, std::string_view pv, uint64_t pv_extent) {
        return core::cat("segment", start + 1, " {\nstart_extent = ", start, "\nextent_count = ", count, "\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"", pv, "\", ", pv_extent, "]\n}\n");
    };
    CHECK(table_error("segment_count = 1\n" + linear(0, 4, "pv0", 5)).find("run past its 7 extents") != std::string::npos);
    CHECK(table_error("segment_count = 1\n" + linear(0, 4, "pv0", 4294967295)).find("run past") != std::string::npos);
    // Inside pe_count, but the device is smaller than the metadata says.
    CHECK(table_error("segment_count = 1\n" + linear(0, 4, "pv0", 0), { { core::format_lvm_uuid(pv_a_id), "8:1", 4096 } }).find("past its real size of 4096 sectors") != std::string::npos);
    CHECK(table_error("segment_count = 2\n" + linear(0, 1, "pv0", 0) + linear(2, 1, "pv0", 1)).find("a gap") != std::string::npos);
    CHECK(table_error("segment_count = 1\n" + linear(1, 1, "pv0", 0)).find("a gap") != std::string::npos);
    auto missing = table_error("segment_count = 1\n" + linear(0, 1, "pv1", 0), { synthetic_devices()[0] });
    CHECK(missing.find(core::format_lvm_uuid(pv_b_id)) != std::string::npos);
    CHECK(missing.find("missing") != std::string::npos);
    CHECK(table_error("segment_count = 1\n" + linear(0, 1, "root", 0)).find("stacked on LV root") != std::string::npos);
    CHECK(table_error("segment_count = 1\n" + linear(0, 1, "nosuch", 0)).find("does not have") != std::string::npos);
    CHECK(table_error("segment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 1\ntype = \"raid1\"\n}\n").find("is a RAID volume") != std::string::npos);
    CHECK(table_error("segment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 1\ntype = \"thin\"\n}\n").find("is a thin volume") != std::string::npos);
    CHECK(table_error("segment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 1\ntype = \"writecache\"\n}\n").find("writecache") != std::string::npos);
    CHECK(table_error("segment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 2\ntype = \"striped\"\nstripe_count = 2\nstripe_size = 1536\nstripes = [\"pv0\", 0, \"pv1\", 0]\n}\n").find("not a whole number of 1536-sector chunks") != std::string::npos);
    CHECK(table_error("segment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 3\ntype = \"striped\"\nstripe_count = 2\nstripe_size = 128\nstripes = [\"pv0\", 0, \"pv1\", 0]\n}\n").find("do not divide") != std::string::npos);
}

TEST_CASE("lvm: the newest valid metadata copy wins; a corrupt newest falls back to the next, as lvm2 does")
{
    ScratchDir dir("kdumpbox-lvm");
    auto older = scan_bytes(dir, pv_image(pv_a_id, metadata_text(4)), "a.img");
    auto newer = scan_bytes(dir, pv_image(pv_b_id, metadata_text(5)), "b.img");
    std::string vg = core::format_lvm_uuid(vg_id);
    auto chosen = core::choose_lvm_metadata({ std::move(older.copies[0]), std::move(newer.copies[0]) }, vg);
    REQUIRE(chosen.ok());
    CHECK(chosen->seqno == 5);

    auto corrupt = pv_image(pv_b_id, metadata_text(6));
    corrupt[mda_start + 700] ^= 1;
    auto corrupt_scan = scan_bytes(dir, corrupt, "c.img");
    auto older_again = scan_bytes(dir, pv_image(pv_a_id, metadata_text(4)), "a.img");
    auto fallback = core::choose_lvm_metadata({ std::move(older_again.copies[0]), std::move(corrupt_scan.copies[0]) }, vg);
    REQUIRE(fallback.ok());
    CHECK(fallback->seqno == 4);

    auto only_corrupt = scan_bytes(dir, corrupt, "c.img");
    auto none = core::choose_lvm_metadata({ std::move(only_corrupt.copies[0]) }, vg);
    REQUIRE(!none.ok());
    CHECK(none.error().message().find("c.img metadata area 1: metadata text checksum does not match") != std::string::npos);

    auto other_vg = scan_bytes(dir, pv_image(pv_a_id, metadata_text(9)), "a.img");
    auto wrong = core::choose_lvm_metadata({ std::move(other_vg.copies[0]) }, core::format_lvm_uuid(lv_id));
    REQUIRE(!wrong.ok());
    CHECK(wrong.error().message().find("holds VG test-vg") != std::string::npos);
}

TEST_CASE("lvm: capture-side activation waits for missing PVs and names them")
{
    ScratchDir dir("kdumpbox-lvm");
    std::string image = dir / "a.img";
    {
        auto bytes = pv_image(pv_a_id, metadata_text(1));
        auto fd = core::open_file(image, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(fd.ok());
        REQUIRE(core::write_all(fd->get(), bytes, image).ok());
    }
    auto options = fake_system(dir, { image }, "LVM-x", "x");
    core::LvmVolume volume { "test-vg", core::format_lvm_uuid(vg_id), "root", core::format_lvm_uuid(lv_id), { core::format_lvm_uuid(pv_a_id), core::format_lvm_uuid(pv_b_id) }, { "dm_mod" } };
    auto activated = core::activate_lvm_volume(volume, options);
    REQUIRE(!activated.ok());
    CHECK(activated.error().errno_code() == ETIMEDOUT);
    CHECK(activated.error().message().find("PV " + core::format_lvm_uuid(pv_b_id) + " did not appear") != std::string::npos);
    CHECK(activated.error().message().find("pv0 (PV " + core::format_lvm_uuid(pv_a_id) + ")") != std::string::npos);
}

TEST_CASE("lvm: plans are strict key-value text")
{
    core::LvmVolume volume { "my-vg", core::format_lvm_uuid(vg_id), "root", core::format_lvm_uuid(lv_id), { core::format_lvm_uuid(pv_a_id) }, { "dm_mod" } };
    auto text = core::format_lvm_volume(volume);
    CHECK(text == core::cat("vg_name my-vg\nvg_uuid ", volume.vg_uuid, "\nlv_name root\nlv_uuid ", volume.lv_uuid, "\npv_uuid ", volume.pv_uuids[0], "\nmodule dm_mod\n"));
    CHECK(*core::parse_lvm_volume(text, "lvm plan") == volume);
    CHECK(volume.mapper_name() == "my--vg-root");
    auto fails = [](std::string const& bad, std::string_view expected) {
        auto parsed = core::parse_lvm_volume(bad, "lvm plan");
        REQUIRE(!parsed.ok());
        INFO(parsed.error().message());
        CHECK(parsed.error().message().find(expected) != std::string::npos);
    };
    fails(text + "vg_name again\n", "line 7: vg_name appears twice");
    fails(text + "colour blue\n", "unknown key");
    fails(text + "\n", "expected \"key value\"");
    fails(text.substr(0, text.find("lv_uuid")), "lv_uuid is missing");
    fails(std::string(text).replace(text.find("my-vg"), 5, "my/vg"), "not a valid LVM name");
    fails(std::string(text).replace(text.find(volume.lv_uuid), 6, "short"), "not an LVM uuid");
    fails(text.substr(0, text.find("pv_uuid")), "no pv_uuid");
}
