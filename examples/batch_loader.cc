// A training-data pipeline over a memory-mapped dataset, as the guide's
// data-loading chapter describes it, with ndjit doing the array work:
//
//   1. writes a synthetic dataset (features (N, D) float32, labels (N,) int64)
//      as .npy files through writeable memory maps (open_memmap), chunk by
//      chunk: the dataset never has to fit in memory;
//   2. computes per-feature mean and standard deviation over the whole file
//      by streaming (chunks along the rows, pages dropped behind);
//   3. each epoch, shuffles by a permutation of row indices; a prefetch
//      thread gathers the next batch's rows from the memory map (np.take)
//      while the main thread runs one training step of a softmax classifier
//      on the current batch: normalise, a linear layer, cross-entropy,
//      accuracy and the gradient step, evaluated together.
//
// Usage: ndjit-batch-loader [--rows N] [--dim D] [--batch B] [--epochs E]
//                           [--dir DIR]
// Exits non-zero if an epoch does not see every row exactly once.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ndjit/ndjit.h"

namespace {

using ndjit::Array;
using ndjit::NDArray;

constexpr int64_t kClasses = 10;

struct Batch {
  NDArray x;  // (B, D) float32, gathered rows
  NDArray y;  // (B,) int64
};

// Hands out shuffled batches; a producer thread gathers batch k+1 (up to
// `depth` ahead) while the consumer works on batch k.
class BatchLoader {
 public:
  BatchLoader(NDArray features, NDArray labels, int64_t batch, uint64_t seed, int depth = 2)
      : features_(std::move(features)),
        labels_(std::move(labels)),
        batch_(batch),
        seed_(seed),
        depth_(depth) {}
  ~BatchLoader() { Stop(); }

  // Starts an epoch: a fresh permutation, and the producer thread.
  void StartEpoch(int epoch) {
    Stop();
    order_.resize(static_cast<size_t>(features_.shape()[0]));
    std::iota(order_.begin(), order_.end(), int64_t{0});
    std::shuffle(order_.begin(), order_.end(), std::mt19937_64(seed_ + epoch));
    done_ = false;
    stop_ = false;
    producer_ = std::thread([this] { Produce(); });
  }

  // The next batch, or nullopt when the epoch is over.
  std::optional<Batch> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !queue_.empty() || done_; });
    if (queue_.empty()) return std::nullopt;
    Batch b = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return b;
  }

 private:
  void Produce() {
    const int64_t n = static_cast<int64_t>(order_.size());
    for (int64_t start = 0; start < n; start += batch_) {
      const int64_t len = std::min(batch_, n - start);
      const NDArray idx = ndjit::ValueOrThrow(NDArray::FromValues<int64_t>(
          {len}, absl::MakeConstSpan(order_.data() + start, static_cast<size_t>(len))));
      // The gather reads the memory map: this is the I/O the thread hides.
      Batch b{ndjit::ValueOrThrow(ndjit::Take(features_, idx, 0)),
              ndjit::ValueOrThrow(ndjit::Take(labels_, idx, 0))};
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return static_cast<int>(queue_.size()) < depth_ || stop_; });
      if (stop_) return;
      queue_.push_back(std::move(b));
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_all();
    }
    if (producer_.joinable()) producer_.join();
    queue_.clear();
  }

  NDArray features_, labels_;
  int64_t batch_;
  uint64_t seed_;
  int depth_;
  std::vector<int64_t> order_;
  std::thread producer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool done_ = false, stop_ = false;
};

// Writes the dataset through writeable memory maps: labels from a hidden
// linear model, so the classifier below has something to find.
void MakeDataset(const std::string& fx, const std::string& fy, int64_t n, int64_t d) {
  ndjit::Generator g(7);
  const NDArray x = ndjit::ValueOrThrow(ndjit::CreateNpyMemmap(fx, {n, d}, ndjit::DType::kFloat32));
  (g.normal(0.0, 1.0, {n, d}, ndjit::DType::kFloat32) * 3.0f + 1.0f).eval_into(x);
  const Array<> hidden = g.normal(0.0, 1.0, {d, kClasses}, ndjit::DType::kFloat32);
  const NDArray y = ndjit::ValueOrThrow(ndjit::CreateNpyMemmap(fy, {n}, ndjit::DType::kInt64));
  ndjit::argmax(ndjit::matmul(Array<>(x), hidden), 1).eval_into(y);
}

int64_t ResidentMiB() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE) >> 20;
}

double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 262144, dim = 64, batch = 1024, epochs = 3;
  std::string dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    int64_t* target = k == "--rows"     ? &rows
                      : k == "--dim"    ? &dim
                      : k == "--batch"  ? &batch
                      : k == "--epochs" ? &epochs
                                        : nullptr;
    if (target != nullptr) {
      *target = std::atoll(argv[i + 1]);
    } else if (k == "--dir") {
      dir = argv[i + 1];
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (rows < 1 || dim < 1 || batch < 1 || epochs < 1) {
    std::fprintf(stderr, "--rows, --dim, --batch and --epochs must be positive\n");
    return 2;
  }
  try {
    const std::string base = dir + "/ndjit_batch_loader_" + std::to_string(getpid());
    const std::string fx = base + "_x.npy", fy = base + "_y.npy";
    // Small chunks, so that even this example's dataset streams.
    ndjit::SetStreamChunkBytes(int64_t{8} << 20);
    double t = Seconds();
    MakeDataset(fx, fy, rows, dim);
    std::printf("dataset: %lld x %lld float32 (%.1f MiB) written through memory maps in %.0f ms\n",
                static_cast<long long>(rows), static_cast<long long>(dim),
                static_cast<double>(rows * dim * 4) / (1 << 20), 1e3 * (Seconds() - t));

    const NDArray x = ndjit::ValueOrThrow(ndjit::OpenNpyMemmap(fx, ndjit::MmapMode::kReadOnly));
    const NDArray y = ndjit::ValueOrThrow(ndjit::OpenNpyMemmap(fy, ndjit::MmapMode::kReadOnly));
    const ndjit::EvalStats s0 = ndjit::GetEvalStats();
    t = Seconds();
    Array<> mu = ndjit::mean(Array<>(x), ndjit::Axis(0), true);
    Array<> sd = ndjit::stddev(Array<>(x), ndjit::Axis(0), 0, true);
    ndjit::eval(mu, sd);
    const ndjit::EvalStats s1 = ndjit::GetEvalStats();
    std::printf(
        "mean and std per feature by streaming: %.0f ms, %lld chunks in %lld passes, "
        "resident %lld MiB\n",
        1e3 * (Seconds() - t), static_cast<long long>(s1.stream_chunks - s0.stream_chunks),
        static_cast<long long>(s1.stream_passes - s0.stream_passes),
        static_cast<long long>(ResidentMiB()));

    ndjit::Generator g(11);
    Array<> w = (g.normal(0.0, 0.1, {dim, kClasses}, ndjit::DType::kFloat32)).eval();
    const Array<> classes = ndjit::arange(kClasses);
    BatchLoader loader(x, y, batch, 2026);
    for (int64_t epoch = 0; epoch < epochs; ++epoch) {
      loader.StartEpoch(static_cast<int>(epoch));
      t = Seconds();
      int64_t seen = 0, batches = 0, label_sum = 0;
      double loss = 0, correct = 0;
      while (std::optional<Batch> b = loader.Next()) {
        const Array<> xb = (Array<>(b->x) - mu) / sd;
        const Array<> logits = ndjit::matmul(xb, w);
        const Array<> top = ndjit::max(logits, ndjit::Axis(1), true);
        const Array<> yb(b->y);
        const Array<> onehot =
            (classes[{ndjit::NewAxis{}, ndjit::Slice{}}] == yb[{ndjit::Slice{}, ndjit::NewAxis{}}])
                .astype(ndjit::DType::kFloat32);
        // Softmax cross-entropy, hits and the SGD step, one evaluation.
        const Array<> e = ndjit::exp(logits - top);
        const Array<> z = ndjit::sum(e, ndjit::Axis(1), true);
        Array<> nll =
            ndjit::sum(ndjit::log(z) + top - ndjit::sum(onehot * logits, ndjit::Axis(1), true));
        Array<> hits = ndjit::sum(ndjit::argmax(logits, 1) == yb);
        Array<> labels = ndjit::sum(yb);
        const float step = 0.5f / static_cast<float>(b->x.shape()[0]);
        Array<> w_next = w - step * ndjit::matmul(xb.T(), e / z - onehot);
        ndjit::eval(nll, hits, labels, w_next);
        w = w_next;
        loss += nll.item<double>();
        correct += static_cast<double>(hits.item<int64_t>());
        label_sum += labels.item<int64_t>();
        seen += b->x.shape()[0];
        ++batches;
      }
      const double secs = Seconds() - t;
      const int64_t expect = ndjit::sum(Array<>(y)).item<int64_t>();
      std::printf(
          "epoch %lld: %lld batches, %.0f batches/s, %.0f MiB/s gathered, loss %.3f, "
          "accuracy %.3f, resident %lld MiB\n",
          static_cast<long long>(epoch), static_cast<long long>(batches), batches / secs,
          static_cast<double>(seen * dim * 4) / (1 << 20) / secs, loss / seen, correct / seen,
          static_cast<long long>(ResidentMiB()));
      if (seen != rows || label_sum != expect) {
        std::fprintf(stderr, "epoch %lld saw %lld rows (label sum %lld); expected %lld (%lld)\n",
                     static_cast<long long>(epoch), static_cast<long long>(seen),
                     static_cast<long long>(label_sum), static_cast<long long>(rows),
                     static_cast<long long>(expect));
        return 1;
      }
    }
    std::remove(fx.c_str());
    std::remove(fy.c_str());
  } catch (const ndjit::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
