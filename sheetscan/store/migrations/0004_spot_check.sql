-- Each written cell's place in the spot-check draw (0..1, see CellReading.spot): cells under the settings'
-- spot_check share are reviewed whatever their confidence. NULL on cells stored before the draw existed and on
-- blank cells and signatures, which are never drawn.
ALTER TABLE cells ADD COLUMN spot REAL CHECK (spot IS NULL OR (spot >= 0 AND spot < 1));
