SELECT {{ 'it''s' }}, {{ 'C:\dir' }}, {{ 42 }}, {{ -1.5e3 }}, {{ null }}, {{ true }}, {{ false }}, {{ meta.lsn }}, {{ operation }}
