-- How well each page's grid fit: the worst intersection, how many the template has, how much of the printed
-- rules and text were found. NULL on pages stored before these were measured.
ALTER TABLE pages ADD COLUMN max_error_mm REAL;
ALTER TABLE pages ADD COLUMN grid_points INTEGER;
ALTER TABLE pages ADD COLUMN line_support REAL;
ALTER TABLE pages ADD COLUMN text_match REAL;
