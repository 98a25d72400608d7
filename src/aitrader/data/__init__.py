"""Historical market data: CSV import/export, the Parquet history store, resampling and validation.

Modules (one job each):

- `csv_io`   read/write the shared `timestamp,open,high,low,close,volume` CSV format (`.csv`, `.csv.gz`)
- `store`    `HistoryStore`: one Parquet file per exchange/pair/timeframe/kind, atomic append + dedupe
- `resample` exchange-aligned aggregation to a higher timeframe, closed candles only
- `validate` data-quality report (gaps, duplicates, OHLC rules, bad prices, outlier jumps)
- `download` fetch candles from an exchange into the store (ccxt)
"""
