"""Image ingestion: read 2,000 generated 256x256 JPEGs, resize to 224x224, make float32 CHW tensors
in a Spark DataFrame.

zoo:  NNImageReader.readImages(dir, spark, resizeH=224, resizeW=224) (binaryFile + OpenCV decode
      in mapInArrow) -> NNImageReader.to_tensors(ImageMatToTensor())
peer: spark.read.format("image") (Java ImageIO decode) -> a pandas UDF that resizes with
      cv2 and returns the CHW float32 tensor as array<float>

Both end in a `noop` write, so every row is computed; each is timed after a warm-up run.
Usage: python benchmarks/image_read.py [--n 2000] [--append-results]
"""

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time

import pandas as pd


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def make_images(folder: str, n: int, size: int = 256) -> None:
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    for i in range(n):
        a, b, c = rng.uniform(0.2, 1.0, 3)
        img = np.stack([xx * a, yy * b, (xx + yy) * c / 2], axis=2)
        img += rng.normal(0, 12, img.shape).astype(np.float32)
        cx, cy, r = rng.integers(30, size - 30, 2).tolist() + [int(rng.integers(10, 40))]
        img = np.clip(img, 0, 255).astype(np.uint8)
        cv2.circle(img, (cx, cy), r, tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
        sub = os.path.join(folder, f"class{i % 4}")
        os.makedirs(sub, exist_ok=True)
        cv2.imwrite(os.path.join(sub, f"img{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def run_zoo(spark, folder: str, size: int):
    from zoo.feature.image import ImageMatToTensor
    from zoo.nnframes import NNImageReader

    df = NNImageReader.readImages(folder, spark, resizeH=size, resizeW=size)
    return NNImageReader.to_tensors(df, ImageMatToTensor(), output_col="features")


def run_peer(spark, folder: str, size: int):
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, FloatType

    @F.pandas_udf(ArrayType(FloatType()))
    def resize_to_tensor(image: pd.DataFrame) -> pd.Series:
        import cv2
        import numpy as np

        cv2.setNumThreads(1)
        out = []
        for h, w, c, data in zip(image["height"], image["width"], image["nChannels"], image["data"]):
            mat = np.frombuffer(data, np.uint8).reshape(h, w, c)
            mat = cv2.resize(mat, (size, size), interpolation=cv2.INTER_LINEAR)
            out.append(np.ascontiguousarray(mat.transpose(2, 0, 1), dtype=np.float32).reshape(-1))
        return pd.Series(out)

    df = spark.read.format("image").option("recursiveFileLookup", "true").load(folder)
    return df.select(resize_to_tensor("image").alias("features"))


def timed(build, spark, folder, size, n, repeats=3):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        df = build(spark, folder, size)
        df.write.format("noop").mode("overwrite").save()
        best = min(best, time.perf_counter() - t0)
    return n / best, best


def check_same(spark, folder, size):
    """Both pipelines give tensors of 3*size*size floats for every image."""
    a = run_zoo(spark, folder, size).limit(8).selectExpr("size(features) AS n").distinct().collect()
    b = run_peer(spark, folder, size).limit(8).selectExpr("size(features) AS n").distinct().collect()
    if [r.n for r in a] != [3 * size * size] or [r.n for r in b] != [3 * size * size]:
        raise RuntimeError(f"unexpected tensor sizes: zoo {a}, peer {b}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--append-results", action="store_true", help="append a section to benchmarks/RESULTS.md")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").appName("zoo-image-read-bench")
             .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.memory", "4g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    folder = tempfile.mkdtemp(prefix="zoo_img_bench_")
    try:
        t0 = time.perf_counter()
        make_images(folder, args.n)
        gen = time.perf_counter() - t0
        check_same(spark, folder, args.size)
        zoo_rate, zoo_t = timed(run_zoo, spark, folder, args.size, args.n, args.repeats)
        peer_rate, peer_t = timed(run_peer, spark, folder, args.size, args.n, args.repeats)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        spark.stop()

    import cv2
    import pyspark

    load = f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after (1-min)"
    lines = [
        (f"images: {args.n} JPEGs 256x256 (generated in {gen:.1f} s) -> {args.size}x{args.size} float32 CHW "
         f"tensors, Spark local[2], best of {args.repeats}"),
        f"zoo  NNImageReader(resize) + to_tensors:            {zoo_rate:8.1f} images/s ({zoo_t:.2f} s)",
        f"peer image source + cv2 resize in a pandas UDF:      {peer_rate:8.1f} images/s ({peer_t:.2f} s)",
        f"ratio zoo / peer: {zoo_rate / peer_rate:.2f}x",
        load,
    ]
    print("\n".join(lines))
    if args.append_results:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
        new = not os.path.exists(path)
        with open(path, "a") as fh:
            if new:
                fh.write("# Benchmark results\n\n")
            fh.write(f"## image_read ({time.strftime('%Y-%m-%d')})\n\n")
            fh.write(f"Machine: {cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
                     f"pyspark {pyspark.__version__}, OpenCV {cv2.__version__}. "
                     "Command: `python benchmarks/image_read.py --append-results`. "
                     f"2,000 generated 256x256 JPEGs -> 224x224 float32 CHW tensors, local[2], best of "
                     f"{args.repeats}; {load}.\n\n")
            fh.write("| pipeline | images/s |\n|---|---|\n")
            fh.write(f"| zoo: NNImageReader.readImages(resizeH=224, resizeW=224) + to_tensors(ImageMatToTensor()) "
                     f"| {zoo_rate:.1f} |\n")
            fh.write(f"| peer: spark.read.format(\"image\") + cv2 resize in a pandas UDF | {peer_rate:.1f} |\n")
            fh.write(f"| ratio zoo / peer | {zoo_rate / peer_rate:.2f}x |\n\n")


if __name__ == "__main__":
    main()
