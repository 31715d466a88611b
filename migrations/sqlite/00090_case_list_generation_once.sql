-- PostgreSQL's generation bump became once per transaction (see postgres/00090). SQLite's triggers update one row
-- of one page, which the transaction holds already: nothing to change here.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
