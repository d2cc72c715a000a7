SELECT 'a''b', E'\'x', "Col""umn", $$ {x} $$, $tag$ $$ $tag$ -- comment {x}
/* nested /* comment */ */ , x$1, {{ new."Order Id" }}
