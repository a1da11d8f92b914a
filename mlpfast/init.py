"""Weight initialisation schemes (biases start at zero).

``auto``: He normal for relu-like activations, Xavier uniform for sigmoid,
tanh, identity and for the output layer.  Values are drawn in float64 from the
network's generator and then cast, so both dtypes start from the same numbers.
"""
import math

RELU_LIKE = {"relu", "leaky_relu", "prelu", "elu", "gelu", "gelu_tanh", "swish", "softplus"}


def _normal(std):
    return lambda rng, fan_in, fan_out: rng.normal(0.0, std(fan_in, fan_out), (fan_in, fan_out))


def _uniform(limit):
    def draw(rng, fan_in, fan_out):
        a = limit(fan_in, fan_out)
        return rng.uniform(-a, a, (fan_in, fan_out))
    return draw


SCHEMES = {
    "he_normal": _normal(lambda i, o: math.sqrt(2.0 / i)),
    "he_uniform": _uniform(lambda i, o: math.sqrt(6.0 / i)),
    "xavier_uniform": _uniform(lambda i, o: math.sqrt(6.0 / (i + o))),
    "xavier_normal": _normal(lambda i, o: math.sqrt(2.0 / (i + o))),
    "lecun_normal": _normal(lambda i, o: math.sqrt(1.0 / i)),
    "lecun_uniform": _uniform(lambda i, o: math.sqrt(3.0 / i)),
}
ALIASES = {"he": "he_normal", "xavier": "xavier_uniform", "glorot": "xavier_uniform",
           "glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
           "lecun": "lecun_normal"}


def scheme_name(init, activation, is_output):
    """The concrete scheme for a layer."""
    if not isinstance(init, str):
        raise TypeError(f"init must be a scheme name, got {type(init).__name__}")
    key = ALIASES.get(init.lower(), init.lower())
    if key == "auto":
        return "he_normal" if activation in RELU_LIKE and not is_output else "xavier_uniform"
    if key not in SCHEMES:
        raise ValueError(f"init must be 'auto' or one of {sorted(SCHEMES) + sorted(ALIASES)}, "
                         f"got {init!r}")
    return key


def draw(init, activation, is_output, rng, fan_in, fan_out):
    """Initial weights (fan_in, fan_out), float64."""
    return SCHEMES[scheme_name(init, activation, is_output)](rng, fan_in, fan_out)
