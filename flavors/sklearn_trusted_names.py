"""The hand-written part of the skops allow-list: exact names, never a module prefix.

``sklearn_trust`` combines these with every public estimator
(``sklearn_estimator_names``) and the numpy and scipy container types it finds by name
at run time. Add a name here only for a type or function that cannot run code of the
file's choosing when skops rebuilds it, or when the model calls it.
"""

#: numpy ufuncs a FunctionTransformer (or any callable parameter) may hold: elementwise
#: arithmetic of one array, no I/O, no callbacks.
SAFE_UFUNC_NAMES = (
    "absolute",
    "fabs",
    "negative",
    "sign",
    "square",
    "sqrt",
    "cbrt",
    "reciprocal",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sin",
    "cos",
    "tanh",
    "arcsinh",
    "floor",
    "ceil",
    "rint",
    "trunc",
)
#: scipy.special ufuncs often used as link functions in a FunctionTransformer.
SAFE_SCIPY_UFUNC_NAMES = ("expit", "logit")

#: Internal types fitted estimators hold: trees, losses and links, binning, neighbour
#: trees and distance metrics, kernels, optimizers, calibrators, splitters.
SKLEARN_INTERNAL_NAMES = frozenset(
    {
        "sklearn.tree._tree.Tree",
        *(
            f"sklearn._loss.link.{name}"
            for name in (
                "HalfLogitLink",
                "IdentityLink",
                "Interval",
                "LogitLink",
                "LogLink",
                "MultinomialLogit",
            )
        ),
        *(
            f"sklearn._loss.loss.{name}"
            for name in (
                "AbsoluteError",
                "ExponentialLoss",
                "HalfBinomialLoss",
                "HalfGammaLoss",
                "HalfMultinomialLoss",
                "HalfPoissonLoss",
                "HalfSquaredError",
                "HalfTweedieLoss",
                "HalfTweedieLossIdentity",
                "HuberLoss",
                "PinballLoss",
            )
        ),
        "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.neighbors._ball_tree.BallTree",
        *(
            f"sklearn.metrics._dist_metrics.{name}{bits}"
            for name in (
                "EuclideanDistance",
                "SEuclideanDistance",
                "ManhattanDistance",
                "ChebyshevDistance",
                "MinkowskiDistance",
                "MahalanobisDistance",
                "HaversineDistance",
            )
            for bits in ("64", "32")
        ),
        *(
            f"sklearn.gaussian_process.kernels.{name}"
            for name in (
                "CompoundKernel",
                "ConstantKernel",
                "DotProduct",
                "ExpSineSquared",
                "Exponentiation",
                "Matern",
                "PairwiseKernel",
                "Product",
                "RBF",
                "RationalQuadratic",
                "Sum",
                "WhiteKernel",
            )
        ),
        "sklearn.gaussian_process._gpc._BinaryGaussianProcessClassifierLaplace",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.cluster._bisect_k_means._BisectingTree",
        "sklearn.multiclass._ConstantPredictor",
        "sklearn.metrics._scorer._PassthroughScorer",
        "sklearn.model_selection._split.KFold",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.utils._bunch.Bunch",
        "scipy.interpolate._bsplines.BSpline",
    }
)
#: Functions some estimators hold by default (``SelectKBest.score_func``,
#: ``FeatureAgglomeration.pooling_func``, ...): array statistics, no I/O, no callbacks.
DEFAULT_FUNCTION_NAMES = frozenset(
    {
        *(
            f"sklearn.feature_selection._univariate_selection.{name}"
            for name in ("f_classif", "f_regression", "chi2", "r_regression")
        ),
        "sklearn.feature_selection._mutual_info.mutual_info_classif",
        "sklearn.feature_selection._mutual_info.mutual_info_regression",
        "sklearn.cluster._kmeans._kmeans_single_lloyd",
        "sklearn.cluster._kmeans._kmeans_single_elkan",
        "numpy.mean",
        "numpy.median",
        "numpy.max",
        "numpy.min",
        "scipy._lib.array_api_compat.numpy._aliases.asarray",
    }
)
#: Cython loss objects rebuilt by ``LossNode`` (SGD and the ``_loss`` module).
SKLEARN_LOSS_NAMES = frozenset(
    {
        *(
            f"sklearn.linear_model._sgd_fast.{name}"
            for name in (
                "EpsilonInsensitive",
                "Hinge",
                "ModifiedHuber",
                "SquaredEpsilonInsensitive",
                "SquaredHinge",
                "Huber",
                "Log",
                "SquaredLoss",
            )
        ),
        *(
            f"sklearn._loss._loss.{name}"
            for name in (
                "CyAbsoluteError",
                "CyExponentialLoss",
                "CyHalfBinomialLoss",
                "CyHalfGammaLoss",
                "CyHalfMultinomialLoss",
                "CyHalfPoissonLoss",
                "CyHalfSquaredError",
                "CyHalfTweedieLoss",
                "CyHalfTweedieLossIdentity",
                "CyHuberLoss",
                "CyPinballLoss",
            )
        ),
    }
)
BUILTIN_SCALARS = frozenset(
    f"builtins.{name}" for name in ("str", "int", "float", "bool", "complex", "NoneType")
)
BUILTIN_CONTAINERS = frozenset(f"builtins.{name}" for name in ("list", "tuple", "set", "dict"))
#: Real numpy bit generators (the class name a ``Generator``'s state carries as a string).
BIT_GENERATOR_NAMES = frozenset({"MT19937", "PCG64", "PCG64DXSM", "Philox", "SFC64"})
