# Copyright (c) mmfer4d contributors. All rights reserved.
"""Class names shared by the data sets, prompts and metrics."""

#: The six prototypic expressions (Ekman), in the order of BU-3DFE's codes
#: AN DI FE HA SA SU.
EXPRESSIONS_6 = ('anger', 'disgust', 'fear', 'happiness', 'sadness',
                 'surprise')
#: Six expressions plus neutral (the 7-class protocol).
EXPRESSIONS_7 = EXPRESSIONS_6 + ('neutral', )
#: The five micro-expression classes of 4DME (Li et al., IEEE TAC 2022).
MICRO_EXPRESSIONS_5 = ('positive', 'negative', 'surprise', 'repression',
                       'others')
