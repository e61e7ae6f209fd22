"""Operations tooling: anomaly detection over metric series, synthetic traffic and its evaluation.

Nothing here imports a bounded context or a framework: the detector is pure Python so it runs the same
over a CSV file (`mercato ops detect`), in a test and inside a process feeding `/metrics`.
"""
