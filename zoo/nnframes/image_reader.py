"""NNImageReader: image files into a Spark DataFrame with the schema of Spark's image source."""

from __future__ import annotations

from collections.abc import Sequence

from zoo.feature.common import Preprocessing
from zoo.feature.image.spark_io import (
    image_schema,
    label_map_of,
    preprocess_image_dataframe,
    read_image_dataframe,
)

__all__ = ["NNImageReader", "image_schema", "with_origin_column"]


class NNImageReader:
    """Reads images into a DataFrame whose ``image`` column has exactly the schema of
    ``spark.read.format("image")``: struct(origin string, height int, width int,
    nChannels int, mode int, data binary), pixels BGR row-major, mode an OpenCV type
    (CV_8UC1=0, CV_8UC3=16, CV_8UC4=24).

    Spark lists and reads the files (``binaryFile`` source); the executors decode them
    with OpenCV in Arrow batches.
    """

    @staticmethod
    def readImages(path: str | Sequence[str], spark=None, min_partitions: int = 1, resizeH: int = -1,
                   resizeW: int = -1, image_codec: int = -1, drop_invalid: bool = False,
                   with_label: bool = False):
        """Read image files into a DataFrame.

        Args:
            path: a folder (read recursively), a glob, a comma-separated list or a list of them.
            spark: a SparkSession (or SparkContext); None uses the active session.
            min_partitions: repartition to at least this many partitions.
            resizeH, resizeW: resize every image to resizeH x resizeW (OpenCV INTER_LINEAR)
                when both are > 0.
            image_codec: OpenCV imread flag; -1 keeps the file's channels like Spark
                (grayscale 1 channel, alpha as a 4th), 1 forces BGR, 0 grayscale.
            drop_invalid: drop undecodable files; otherwise they are rows with height,
                width, nChannels and mode -1 and empty data. Their count is logged
                (logger ``zoo.feature.image``).
            with_label: add ``label`` (int, 0-based) from the parent folder name (sorted
                folder names -> 0..k-1); the map is in the column metadata, see
                :meth:`label_map`.
        Returns:
            a DataFrame with columns ``image`` (and ``label``).
        Raises:
            FileNotFoundError: a path that matches nothing.
        """
        df, _ = read_image_dataframe(path, spark, min_partitions, resizeH, resizeW, image_codec, drop_invalid,
                                     with_label)
        return df

    read_images = readImages

    @staticmethod
    def label_map(df, label_col: str = "label") -> dict | None:
        """The {folder name: label} map of a DataFrame read with ``with_label=True``."""
        return label_map_of(df, label_col)

    @staticmethod
    def to_tensors(df, preprocessing: Preprocessing | None = None, input_col: str = "image",
                   output_col: str = "features", keep_input: bool = False):
        """Apply image ``preprocessing`` in the executors and store each resulting float32 tensor,
        flattened, as an array<float> column ``output_col`` (null for undecodable images).

        Example chain: ``RowToImageFeature() >> ImageResize(64, 64) >>
        ImageChannelNormalize(123.0, 117.0, 104.0) >> ImageMatToTensor() >> ImageFeatureToTensor()``.
        """
        return preprocess_image_dataframe(df, preprocessing, input_col, output_col, keep_input)


def with_origin_column(df, image_col: str = "image", origin_col: str = "origin"):
    """``df`` with the image origin copied into its own column."""
    from pyspark.sql import functions as F

    if image_col not in df.columns:
        raise ValueError(f"with_origin_column: image_col '{image_col}' not in columns {df.columns}")
    return df.withColumn(origin_col, F.col(f"{image_col}.origin"))
