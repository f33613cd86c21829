"""The numeric limits every layer shares (no imports: any module may use them).

INT64_SAFE: exact integer arithmetic stays in int64 while every magnitude is below it (sums of two such values
cannot overflow); beyond it, Python integers (object arrays) take over. MAX_TABLE_BYTES: the largest table
(action sets, Q-tables and visit counts) a solver or learner allocates before refusing with a clear message.
"""

INT64_SAFE = 2**62
MAX_TABLE_BYTES = 8 << 30
