"""speechforget: machine unlearning on speech models.

The narrative (see speechforget.pipeline): audio source -> clips + labels ->
forget spec -> forget/retain/test split -> original model -> unlearning method ->
unlearned model, beside a gold model retrained without the forgotten clips ->
evaluation -> figures -> UI / CLI / report.
"""

__version__ = "0.1.0"
