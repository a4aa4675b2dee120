"""The classes a Keras model file may name without running code of its own: tf_keras' built-in set.

tests/test_profile_tflm.py checks ``LAYERS`` against the installed tf_keras, so a new release is noticed.
``Lambda`` is left out on purpose: its config carries Python bytecode that runs when the model is built.
"""

LAYERS = frozenset("""
Activation ActivityRegularization Add AdditiveAttention AlphaDropout Attention Average AveragePooling1D
AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D BatchNormalization Bidirectional
CategoryEncoding CenterCrop Concatenate Conv1D Conv1DTranspose Conv2D Conv2DTranspose Conv3D Conv3DTranspose
ConvLSTM1D ConvLSTM2D ConvLSTM3D Convolution1D Convolution1DTranspose Convolution2D Convolution2DTranspose
Convolution3D Convolution3DTranspose Cropping1D Cropping2D Cropping3D Dense DenseFeatures DepthwiseConv1D
DepthwiseConv2D Discretization Dot Dropout ELU EinsumDense Embedding Flatten GRU GRUCell GaussianDropout
GaussianNoise GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalAvgPool1D
GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalMaxPooling1D
GlobalMaxPooling2D GlobalMaxPooling3D GroupNormalization HashedCrossing Hashing Identity InputLayer
IntegerLookup LSTM LSTMCell LayerNormalization LeakyReLU LocallyConnected1D LocallyConnected2D Masking
MaxPool1D MaxPool2D MaxPool3D MaxPooling1D MaxPooling2D MaxPooling3D Maximum Minimum MultiHeadAttention
Multiply Normalization PReLU Permute RNN RandomBrightness RandomContrast RandomCrop RandomFlip RandomHeight
RandomRotation RandomTranslation RandomWidth RandomZoom ReLU RepeatVector Rescaling Reshape Resizing
SeparableConv1D SeparableConv2D SeparableConvolution1D SeparableConvolution2D SimpleRNN SimpleRNNCell Softmax
SpatialDropout1D SpatialDropout2D SpatialDropout3D SpectralNormalization StackedRNNCells StringLookup Subtract
TextVectorization ThresholdedReLU TimeDistributed UnitNormalization UpSampling1D UpSampling2D UpSampling3D
ZeroPadding1D ZeroPadding2D ZeroPadding3D
""".split())
# Layers tf_keras exports that a saved model never names for itself (abstract bases), left out of LAYERS.
ABSTRACT_LAYERS = frozenset({"AbstractRNNCell", "Layer", "Wrapper"})
CODE_LAYERS = frozenset({"Lambda", "__lambda__"})  # their config is code
MODELS = frozenset({"Functional", "Sequential", "Model"})
# A TensorFlow function called on Keras tensors in a functional model becomes a TFOpLambda layer that
# names the function ("nn.relu", "reshape"); it may name only pure tensor operations.
OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})
OP_NAMESPACES = ("math.", "nn.", "linalg.", "image.resize", "signal.", "bitwise.", "__operators__.")
OP_FUNCTIONS = frozenset("""
reshape transpose concat stack unstack split squeeze expand_dims cast identity pad tile gather gather_nd
slice strided_slice where clip_by_value add subtract multiply divide truediv maximum minimum abs exp sqrt
square pow reduce_mean reduce_sum reduce_max reduce_min reduce_prod matmul einsum shape size zeros_like
ones_like broadcast_to one_hot range round sigmoid tanh sign floor ceil argmax argmin cumsum reverse
""".split())
INITIALIZERS = frozenset("""
Constant GlorotNormal GlorotUniform HeNormal HeUniform Identity LecunNormal LecunUniform Ones Orthogonal
RandomNormal RandomUniform TruncatedNormal VarianceScaling Zeros
""".split())
REGULARIZERS = frozenset({"L1", "L1L2", "L2", "OrthogonalRegularizer"})
CONSTRAINTS = frozenset({"MaxNorm", "MinMaxNorm", "NonNeg", "RadialConstraint", "UnitNorm"})
# Markers of tf_keras' own serialization (tuples, arrays, shapes, dtype policies): data, not classes.
MARKERS = frozenset({"__tuple__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__tensor__",
                     "__typespec__", "TensorShape", "TypeSpec", "InputSpec", "Policy", "DTypePolicy", "function"})
ALLOWED = LAYERS | MODELS | OP_LAYERS | INITIALIZERS | REGULARIZERS | CONSTRAINTS | MARKERS
# Python modules a .keras config may name (it imports them to find a class): Keras' and TensorFlow's own.
MODULE_PREFIXES = ("keras.", "tf_keras.", "tensorflow.")
