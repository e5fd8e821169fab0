// Tests for SHA-256, the IDX reader/writer and dataset loading: known vectors, round trips, one-line error messages
// for each kind of bad file, and the real MNIST and Fashion-MNIST files.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <unistd.h>

#include "dataset.hpp"
#include "error.hpp"
#include "idx.hpp"
#include "sha256.hpp"

using namespace scee;
namespace fs = std::filesystem;

namespace {

std::string sha_of(const std::string& s) { return sha256_hex(s.data(), s.size()); }

/// A fresh directory under the system temp dir, removed at the end of the test case.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("scee_test_dataset_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

void write_raw(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

/// The raw bytes of an unsigned-byte IDX file.
std::vector<std::uint8_t> idx_bytes(const std::vector<std::uint32_t>& dims, std::size_t payload) {
  std::vector<std::uint8_t> bytes{0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (const std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(d >> shift));
  }
  bytes.resize(bytes.size() + payload, 7);
  return bytes;
}

/// The message of the InputError that f throws ("" if none).
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

IdxArray small_images(std::uint32_t count) {
  IdxArray a{{count, 28, 28}, std::vector<std::uint8_t>(count * 784)};
  for (std::size_t i = 0; i < a.data.size(); ++i) a.data[i] = static_cast<std::uint8_t>(i % 256);
  return a;
}

}  // namespace

TEST_CASE("sha256 known vectors") {
  CHECK(sha_of("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha_of("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 sha;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) sha.update(chunk.data(), chunk.size());
  CHECK(to_hex(sha.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Uneven pieces straddling block boundaries give the same digest as one call.
  const std::string text(200, 'x');
  Sha256 pieces;
  for (std::size_t at = 0, step = 1; at < text.size(); at += step, step = step % 70 + 13) {
    pieces.update(text.data() + at, std::min(step, text.size() - at));
  }
  CHECK(to_hex(pieces.finish()) == sha_of(text));
}

TEST_CASE("IDX round trip, plain and gzip") {
  TempDir dir;
  const IdxArray original{{3, 2, 5}, {}};
  IdxArray a = original;
  for (int i = 0; i < 30; ++i) a.data.push_back(static_cast<std::uint8_t>(i * 9));
  for (const bool gzip : {false, true}) {
    CAPTURE(gzip);
    const std::string path = dir.file(gzip ? "a.idx.gz" : "a.idx");
    write_idx(path, a, gzip);
    std::ifstream in(path, std::ios::binary);
    const int first = in.get();
    CHECK(first == (gzip ? 0x1f : 0x00));
    const IdxArray b = read_idx(path);
    CHECK(b.dims == a.dims);
    CHECK(b.data == a.data);
  }
}

TEST_CASE("IDX errors name the file and the problem") {
  TempDir dir;
  const std::string missing = dir.file("missing-idx3-ubyte");
  std::string msg = input_error([&] { read_idx(missing); });
  CHECK(contains(msg, missing + ": cannot open (No such file or directory); run .ci/setup"));

  const std::string path = dir.file("bad");
  write_raw(path, {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 5});
  msg = input_error([&] { read_idx(path); });
  CHECK(contains(msg, path + ": not an IDX file: bad magic 12 34"));

  write_raw(path, {0, 0, 0x0D, 0x01, 0, 0, 0, 1, 1, 2, 3, 4});
  msg = input_error([&] { read_idx(path, "get it elsewhere"); });
  CHECK(contains(msg, path + ": unsupported IDX element type 0x0d (float)"));
  CHECK(contains(msg, "only unsigned byte (0x08) is supported"));
  CHECK(contains(msg, "(get it elsewhere)"));

  write_raw(path, {0, 0, 0x08, 0x03, 0, 0});
  msg = input_error([&] { read_idx(path); });
  CHECK(contains(msg, path + ": truncated header"));

  for (const bool gzip : {false, true}) {
    CAPTURE(gzip);
    write_raw(path, idx_bytes({10, 28, 28}, 1000));
    if (gzip) write_idx(path, {{10, 28, 28}, std::vector<std::uint8_t>(1000)}, true);  // claims 7840, has 1000
    msg = input_error([&] { read_idx(path); });
    CHECK(contains(msg, path + ": truncated: expected 7840 bytes of data after the 16-byte header, found 1000"));
  }

  write_raw(path, idx_bytes({4}, 6));
  msg = input_error([&] { read_idx(path); });
  CHECK(contains(msg, path + ": 2 trailing bytes after the 4 bytes of data"));

  // A gzip stream cut short is reported as corrupt, not silently shortened.
  const std::string gz = dir.file("cut.gz");
  write_idx(gz, small_images(50), true);
  fs::resize_file(gz, fs::file_size(gz) / 2);
  msg = input_error([&] { read_idx(gz); });
  CHECK(contains(msg, gz + ": "));
  CHECK((contains(msg, "corrupt gzip") || contains(msg, "truncated")));
  CHECK(msg.find('\n') == std::string::npos);
}

TEST_CASE("load_idx_pair checks shapes, counts and labels") {
  TempDir dir;
  const std::string images = dir.file("images");
  const std::string labels = dir.file("labels.gz");
  write_idx(images, small_images(5), false);

  write_idx(labels, {{5}, {3, 0, 9, 1, 2}}, true);
  Dataset d = load_idx_pair("tiny", Split::test, images, labels, 800, 0, "hint");
  CHECK(d.count() == 5);
  CHECK(d.x.rows() == 800);
  CHECK(d.x.cols() == 5);
  CHECK(d.image_pixels == 784);
  CHECK(d.input_width == 800);
  CHECK(d.labels == std::vector<std::uint8_t>{3, 0, 9, 1, 2});
  CHECK(d.x(0, 0) == 0.0f);
  CHECK(d.x(255, 0) == 1.0f);
  CHECK(d.x(1, 1) == doctest::Approx((784 + 1) % 256 / 255.0));
  CHECK(d.x.bottomRows(16).isZero(0));

  d = load_idx_pair("tiny", Split::test, images, labels, 784, 2, "hint");
  CHECK(d.count() == 2);
  CHECK(d.x.cols() == 2);
  CHECK(d.labels == std::vector<std::uint8_t>{3, 0});

  std::string msg = input_error([&] { load_idx_pair("tiny", Split::test, images, labels, 700, 0, "hint"); });
  CHECK(contains(msg, "input width 700"));

  write_idx(labels, {{4}, {1, 2, 3, 4}}, true);
  msg = input_error([&] { load_idx_pair("tiny", Split::test, images, labels, 800, 0, "hint"); });
  CHECK(contains(msg, labels + ": 4 labels but " + images + " has 5 images"));

  write_idx(labels, {{5}, {1, 2, 10, 4, 5}}, true);
  msg = input_error([&] { load_idx_pair("tiny", Split::test, images, labels, 800, 0, "hint"); });
  CHECK(contains(msg, labels + ": label 10 of sample 2 is out of range 0..9"));

  write_idx(labels, {{5, 1}, std::vector<std::uint8_t>(5)}, true);
  msg = input_error([&] { load_idx_pair("tiny", Split::test, images, labels, 800, 0, "hint"); });
  CHECK(contains(msg, labels + ": expected a 1-D array of labels"));

  write_idx(images, {{5, 784}, std::vector<std::uint8_t>(5 * 784)}, false);
  msg = input_error([&] { load_idx_pair("tiny", Split::test, images, labels, 800, 0, "hint"); });
  CHECK(contains(msg, images + ": expected images of shape (count, 28, 28), found (5, 784)"));

  // The real datasets' names demand the real counts, and MNIST the published checksums.
  write_idx(images, small_images(5), false);
  write_idx(labels, {{5}, {3, 0, 9, 1, 2}}, true);
  msg = input_error([&] { load_idx_pair("fashion-mnist", Split::test, images, labels, 800, 0, "hint"); });
  CHECK(contains(msg, "has 5 samples, expected 10000"));
  const std::string fake = dir.file("t10k-images-idx3-ubyte"), fake_labels = dir.file("t10k-labels-idx1-ubyte");
  write_idx(fake, small_images(5), false);
  write_idx(fake_labels, {{5}, {3, 0, 9, 1, 2}}, false);
  msg = input_error([&] { load_idx_pair("mnist", Split::test, fake, fake_labels, 800, 0, "hint"); });
  CHECK(contains(msg, fake + ": mnist test set has 5 samples, expected 10000")); // shape and count before checksum
  write_idx(fake, {{10000, 28, 28}, std::vector<std::uint8_t>(10000 * 784)}, false);
  write_idx(fake_labels, {{10000}, std::vector<std::uint8_t>(10000)}, false);
  msg = input_error([&] { load_idx_pair("mnist", Split::test, fake, fake_labels, 800, 0, "hint"); });
  CHECK(contains(msg, fake + ": sha256 mismatch: expected "
                            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7, found "));
  CHECK(contains(msg, "re-run .ci/setup"));

  msg = input_error([] { load_dataset("cifar", Split::test, 800); });
  CHECK(contains(msg, "unknown dataset 'cifar' (valid: mnist, fashion-mnist)"));
}

TEST_CASE("real MNIST") {
  const Dataset train = load_dataset("mnist", Split::train, 800);
  CHECK(train.count() == 60000);
  CHECK(train.x.rows() == 800);
  CHECK(train.x.cols() == 60000);
  CHECK(train.labels[0] == 5);
  CHECK(train.x.minCoeff() == 0.0f);
  CHECK(train.x.maxCoeff() == 1.0f);
  CHECK(train.x.bottomRows(16).isZero(0));

  const Dataset test = load_dataset("mnist", Split::test, 800);
  CHECK(test.count() == 10000);
  CHECK(test.labels[0] == 7);
  CHECK(test.x.bottomRows(16).isZero(0));
  std::array<int, 10> per_class{};
  for (const std::uint8_t label : test.labels) ++per_class.at(label);
  CHECK(std::accumulate(per_class.begin(), per_class.end(), 0) == 10000);
  CHECK(per_class[0] == 980);
  CHECK(per_class[1] == 1135);

  const Dataset few = load_dataset("mnist", Split::test, 784, 100);
  CHECK(few.count() == 100);
  CHECK(few.x == test.x.topLeftCorner(784, 100));
}

TEST_CASE("real Fashion-MNIST") {
  for (const Split split : {Split::train, Split::test}) {
    const Dataset d = load_dataset("fashion-mnist", split, 800);
    CHECK(d.count() == (split == Split::train ? 60000 : 10000));
    CHECK(d.x.cols() == d.count());
    CHECK(d.x.minCoeff() == 0.0f);
    CHECK(d.x.maxCoeff() == 1.0f);
    CHECK(d.x.bottomRows(16).isZero(0));
    CHECK(*std::max_element(d.labels.begin(), d.labels.end()) == 9);
  }
}
