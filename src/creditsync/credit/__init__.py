"""The credit loop back to the departments (docs/credit-loop.md).

- :mod:`feed`: the platform's joint-punishment lists and grades, pulled incrementally, every version kept;
- :mod:`check`: 信用核查 before a decision (listed? which measures for this matter? grade?), recorded;
- :mod:`measures`: the 措施清单 per matter (YAML);
- :mod:`draws`: 双随机 spot-check draws by grade from a committed seed;
- :mod:`deliveries`: list and grade changes sent back to the departments that want them.
"""
