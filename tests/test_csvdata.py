"""read_csv (class and value targets, every error with its row and column) and Standardizer."""
import json

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mlpfast.csvdata import CSVError, Standardizer, Table, read_csv


def write(tmp_path, text, name="data.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


IRIS = """sepal_length,sepal_width,species,petal_length
5.1,3.5,setosa,1.4
7.0,3.2,versicolor,4.7
6.3,3.3,virginica,6.0
4.9,3.0,setosa,1.4

6.4,3.2,versicolor,4.5
"""


def test_class_name_target(tmp_path):
    t = read_csv(write(tmp_path, IRIS), target="species")
    assert isinstance(t, Table)
    assert t.feature_names == ["sepal_length", "sepal_width", "petal_length"]
    assert t.features.dtype == np.float64 and t.features.shape == (5, 3)
    assert_array_equal(t.features[:, 0], [5.1, 7.0, 6.3, 4.9, 6.4])
    assert_array_equal(t.features[2], [6.3, 3.3, 6.0])
    assert t.target_name == "species"
    assert t.classes == ["setosa", "versicolor", "virginica"]
    assert t.target.dtype == np.int64
    assert_array_equal(t.target, [0, 1, 2, 0, 1])
    assert [t.classes[i] for i in t.target] == ["setosa", "versicolor", "virginica",
                                                "setosa", "versicolor"]


def test_class_target_round_trip_through_a_written_file(tmp_path):
    t = read_csv(write(tmp_path, IRIS), target="species")
    lines = [",".join(t.feature_names + [t.target_name])]
    lines += [",".join([repr(v) for v in row] + [t.classes[k]])
              for row, k in zip(t.features.tolist(), t.target)]
    t2 = read_csv(write(tmp_path, "\n".join(lines) + "\n", "again.csv"), target="species")
    assert_array_equal(t2.features, t.features)
    assert_array_equal(t2.target, t.target)
    assert t2.classes == t.classes and t2.feature_names == t.feature_names


def test_no_target_all_features(tmp_path):
    t = read_csv(write(tmp_path, "a,b\n1,2\n3,4e-1\n-5,  6 \n"))
    assert t.feature_names == ["a", "b"]
    assert_array_equal(t.features, [[1, 2], [3, 0.4], [-5, 6]])
    assert t.target is None and t.target_name is None and t.classes is None


def test_numeric_regression_target(tmp_path):
    t = read_csv(write(tmp_path, "price,x,y\n1.5,0,1\n-2.25,1,0\n3e2,1,1\n"), target="price")
    assert t.feature_names == ["x", "y"]
    assert t.classes is None and t.target.dtype == np.float64
    assert_array_equal(t.target, [1.5, -2.25, 300.0])
    assert_array_equal(t.features, [[0, 1], [1, 0], [1, 1]])
    # whole numbers written as decimals are values too, not classes
    t = read_csv(write(tmp_path, "x,y\n0,1.0\n1,2.0\n2,1.0\n", "whole.csv"), target="y")
    assert t.classes is None and t.target.dtype == np.float64
    assert_array_equal(t.target, [1.0, 2.0, 1.0])


def test_integer_class_target(tmp_path):
    path = write(tmp_path, "x,digit\n0.5,10\n0.25,2\n0.0,10\n1,-1\n")
    t = read_csv(path, target="digit")
    assert t.classes == [-1, 2, 10]                     # numeric, not string, order
    assert all(type(c) is int for c in t.classes)
    assert_array_equal(t.target, [2, 1, 2, 0])
    json.dumps(t.classes)                               # storable in a model file
    # the same column forced to be a regression target
    v = read_csv(path, target="digit", target_kind="values")
    assert v.classes is None and v.target.dtype == np.float64
    assert_array_equal(v.target, [10, 2, 10, -1])


def test_target_kind_classes_on_float_labels(tmp_path):
    t = read_csv(write(tmp_path, "x,t\n1,0.5\n2,1.5\n3,0.5\n"), target="t", target_kind="classes")
    assert t.classes == ["0.5", "1.5"]
    assert_array_equal(t.target, [0, 1, 0])


def test_bom_quotes_and_crlf(tmp_path):
    text = '\ufeff"a, first",b\r\n"1",2\r\n3,"4"\r\n'
    t = read_csv(write(tmp_path, text))
    assert t.feature_names == ["a, first", "b"]
    assert_array_equal(t.features, [[1, 2], [3, 4]])


def test_spaces_around_cells_are_ignored(tmp_path):
    t = read_csv(write(tmp_path, " a , b,label \n1, 2 , cat\n 3,4,cat \n5 ,6, dog\n"),
                 target="label")
    assert t.feature_names == ["a", "b"] and t.target_name == "label"
    assert t.classes == ["cat", "dog"]
    assert_array_equal(t.target, [0, 0, 1])
    assert_array_equal(t.features, [[1, 2], [3, 4], [5, 6]])


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("text, target, match", [
    ("", None, r"empty file"),
    ("\n\n  \n", None, r"empty file"),
    ("1,2,3\n4,5,6\n7,8,9\n", None, r"row 1: no header row"),
    ("a,b,c\n1,2,3\n4,5\n7,8,9\n", None,
     r"row 3: 2 cells .*header has 3 columns \(missing column 'c'\)"),
    ("a,b,c\n1,2,3\n4\n", None, r"row 3: 1 cell but .*missing columns 'b' to 'c'"),
    ("a,b\n1,2\n4,5,6\n", None, r"row 3: 3 cells .*1 extra cell.*after column 'b'"),
    ("a,b\n1,2\n\n4,x7\n", None, r"row 4, column 'b': 'x7' is not a finite number"),
    ("a,b\n1,2\n4,nan\n", None, r"row 3, column 'b': 'nan' is not a finite number"),
    ("a,b\n1,inf\n4,5\n", None, r"row 2, column 'b': 'inf' is not a finite number"),
    ("a,b,y\n1,2,cat\n4,,dog\n", "y", r"row 3, column 'b': empty cell"),
    ("a,b,y\n1,2,cat\n4,3,\n", "y", r"row 3, column 'y': empty cell"),
    ("a,b\n1,2\n3,4\n", "label", r"no column 'label' for the target; the columns are: 'a', 'b'"),
    ("a,b\n1,2\n", None, r"1 data row\(s\) after the header; need at least 2"),
    ("a,b\n", None, r"0 data row\(s\)"),
    ("y\n1\n2\n", "y", r"no feature columns"),
    ("a,,c\n1,2,3\n4,5,6\n", None, r"row 1, column 2: empty column name"),
    ("a,b,a\n1,2,3\n4,5,6\n", None, r"row 1, column 'a': duplicate column name"),
    ("a,b\n1,2\n3,\"4\n", None, r"row \d+: malformed CSV"),
    ("x,t\n1,2.5\n2,cat\n", "t", None),             # fine under auto: class names
])
def test_csv_errors(tmp_path, text, target, match):
    path = write(tmp_path, text)
    if match is None:
        assert read_csv(path, target=target).classes == ["2.5", "cat"]
        return
    with pytest.raises(CSVError, match=match) as info:
        read_csv(path, target=target)
    assert str(path) in str(info.value)                   # the file is named
    assert isinstance(info.value, ValueError)


def test_error_names_row_and_column_of_first_problem(tmp_path):
    # the bad feature (row 3) comes before the ragged row (row 5): file order wins
    path = write(tmp_path, "h1,h2,h3\n1,2,3\n4,five,6\n7,8,9\n10,11\n")
    with pytest.raises(CSVError) as info:
        read_csv(path)
    msg = str(info.value)
    assert "row 3" in msg and "'h2'" in msg and "'five'" in msg and "row 5" not in msg


def test_values_target_rejects_names(tmp_path):
    path = write(tmp_path, "x,t\n1,2.5\n2,cat\n")
    with pytest.raises(CSVError, match=r"row 3, column 't': 'cat' is not a finite number"):
        read_csv(path, target="t", target_kind="values")


def test_a_file_descriptor_number_is_not_a_path(tmp_path):
    import os
    with open(tmp_path / "other.bin", "wb") as other:
        with pytest.raises(TypeError, match="path must be a file path"):
            read_csv(other.fileno())
        os.fstat(other.fileno())                # still open


def test_missing_file(tmp_path):
    with pytest.raises(CSVError, match=r"nope\.csv: no such file"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(CSVError, match="is a directory"):
        read_csv(tmp_path)


def test_not_utf8(tmp_path):
    path = write(tmp_path, "caf\u00e9,b\n1,2\n3,4\n", encoding="latin-1")
    with pytest.raises(CSVError, match="not UTF-8"):
        read_csv(path)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(target=3), TypeError, "target must be a column name"),
    (dict(target_kind="labels"), ValueError, "target_kind must be one of"),
])
def test_bad_arguments(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        read_csv(write(tmp_path, "a,b\n1,2\n3,4\n"), **kwargs)


# ------------------------------------------------------------------ Standardizer

def test_standardizer_values_and_constant_column():
    X = np.array([[1.0, 5.0, 0.1], [3.0, 5.0, 0.1], [5.0, 5.0, 0.1], [7.0, 5.0, 0.1]])
    s = Standardizer().fit(X)
    assert_allclose(s.mean, [4.0, 5.0, 0.1], rtol=1e-15)
    assert_allclose(s.scale, [np.sqrt(5.0), 1.0, 1.0], rtol=1e-15)
    Z = s.transform(X)
    assert_allclose(Z[:, 0], np.array([-3, -1, 1, 3]) / np.sqrt(5.0), rtol=1e-14)
    assert_allclose(Z[:, 1:], 0.0, atol=1e-15)
    assert_allclose(Z.mean(axis=0), 0.0, atol=1e-15)
    assert_allclose(Z[:, 0].std(), 1.0, rtol=1e-14)
    assert_allclose(s.inverse_transform(Z), X, rtol=1e-14)
    assert_array_equal(s.fit_transform(X), Z)


def test_standardizer_dtypes():
    X = np.arange(12).reshape(4, 3)                          # integers -> float64
    s = Standardizer().fit(X)
    assert s.transform(X).dtype == np.float64
    Z32 = s.transform(X.astype(np.float32))
    assert Z32.dtype == np.float32
    assert_allclose(Z32, s.transform(X), rtol=1e-6)


def test_standardizer_json_round_trip():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(50, 4))
    s = Standardizer().fit(X)
    d = json.loads(json.dumps(s.to_dict()))
    assert set(d) == {"mean", "scale"} and all(type(v) is float for v in d["mean"])
    s2 = Standardizer.from_dict(d)
    assert s2 == s
    assert Standardizer(s.mean, s.scale * 2) != s and Standardizer(s.mean + 1, s.scale) != s
    assert Standardizer() != Standardizer()                 # unfitted: nothing to compare
    assert_array_equal(s2.transform(X), s.transform(X))     # bitwise: floats survive JSON


@pytest.mark.parametrize("d, match", [
    ({"mean": [0.0]}, "exactly the keys"),
    ([1, 2], "exactly the keys"),
    ({"mean": [0.0, 1.0], "scale": [1.0]}, "one length"),
    ({"mean": [], "scale": []}, "non-empty"),
    ({"mean": ["a"], "scale": [1.0]}, "lists of numbers"),
    ({"mean": [0.0], "scale": [0.0]}, "> 0"),
    ({"mean": [float("nan")], "scale": [1.0]}, "finite"),
])
def test_standardizer_bad_dict(d, match):
    with pytest.raises(ValueError, match=match):
        Standardizer.from_dict(d)


def test_standardizer_errors():
    s = Standardizer()
    with pytest.raises(RuntimeError, match="not fitted"):
        s.transform(np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="not fitted"):
        s.to_dict()
    s.fit(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match="X has 3 columns but the Standardizer was fitted on 2"):
        s.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="X must be finite"):
        s.fit(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="non-empty 2-D"):
        s.fit(np.zeros(3))
    with pytest.raises(TypeError, match="X must be numeric"):
        s.fit(np.array([["a"]]))


@pytest.mark.parametrize("mean, scale, exc, match", [
    ([1, 2], [0, -1], ValueError, r"scale must be finite and > 0, got 0.0 at index 0"),
    ([1, 2], [1, -1], ValueError, r"scale must be finite and > 0, got -1.0 at index 1"),
    ([1, 2], [1, np.inf], ValueError, r"scale must be finite and > 0, got inf at index 1"),
    ([np.nan, 2], [1, 1], ValueError, r"mean must be finite, got nan at index 0"),
    ([1, -np.inf], [1, 1], ValueError, r"mean must be finite, got -inf at index 1"),
    ([1.0], None, ValueError, "mean and scale must be given together"),
    (None, [1.0], ValueError, "mean and scale must be given together"),
    ([1, 2], [1], ValueError, "one length"),
    ([[1.0]], [[1.0]], ValueError, "one length"),
    (["a"], [1.0], ValueError, "lists of numbers"),
])
def test_standardizer_bad_constructor_arguments(mean, scale, exc, match):
    """Standardizer(mean=[1, 2], scale=[0, -1]) was accepted; transform gave NaN and
    columns with flipped signs."""
    with pytest.raises(exc, match=match):
        Standardizer(mean=mean, scale=scale)


def test_standardizer_constructor_keeps_valid_arguments():
    s = Standardizer(mean=[1, -2], scale=[0.5, 4])
    assert s.mean.dtype == s.scale.dtype == np.float64
    assert_array_equal(s.transform([[2.0, 2.0]]), [[2.0, 1.0]])
    assert_array_equal(Standardizer().fit(np.eye(2)).mean, [0.5, 0.5])


@pytest.mark.parametrize("column", [[1e308, 1e308], [1e308, -1e308], [0.0, 2e154]])
def test_standardizer_fit_refuses_overflowing_columns(column):
    """The mean of [1e308, 1e308] overflowed to inf, the variance of ±1e308 too."""
    X = np.column_stack([[1.0, 2.0], column])
    with pytest.raises(ValueError, match="mean or standard deviation of column 1 is not "
                                         "finite"):
        Standardizer().fit(X)


def test_standardizer_fit_of_large_values_is_exact():
    """Below the overflow of the squares (about 1.3e154), large columns fit exactly."""
    s = Standardizer().fit(np.array([[1e150, 3e300], [-1e150, 3e300]]))
    assert_array_equal(s.mean, [0.0, 3e300])
    assert_array_equal(s.scale, [1e150, 1.0])                 # the constant column: 1
    assert_array_equal(s.transform([[1e150, 3e300]]), [[1.0, 0.0]])


def test_standardizer_refuses_overflowing_results():
    """transform and inverse_transform returned inf for finite input."""
    tiny = Standardizer().fit(np.array([[-2.0 ** -500], [2.0 ** -500]]))
    assert_array_equal(tiny.mean, [0.0])
    assert_array_equal(tiny.scale, [2.0 ** -500])
    with pytest.raises(ValueError, match=r"transform\(X\) overflows float64"):
        tiny.transform([[2.0 ** 600]])
    with pytest.raises(ValueError, match=r"transform\(X\) overflows float32"):
        Standardizer([0.0], [1e-10]).transform(np.array([[1e30]], np.float32))
    with pytest.raises(ValueError, match=r"inverse_transform\(Z\) overflows float64"):
        Standardizer([0.0], [1e300]).inverse_transform([[1e10]])
    with pytest.raises(ValueError, match="Z must be finite"):
        Standardizer([0.0], [1.0]).inverse_transform([[np.nan]])
    assert_array_equal(tiny.transform([[2.0 ** 520]]), [[2.0 ** 1020]])   # finite: fine
