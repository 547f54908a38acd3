//! The one way a Markdown table is written, after hyperfine's
//! `table_row`/`table_divider`: a header row with each column's alignment,
//! then rows of cells; every table of compare.md and the README is one.

/// How a column's cells line up: text left, numbers right.
#[derive(Clone, Copy)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    text: String,
}

impl Table {
    /// A table with these columns: `| a | b |` over `|---|---:|`.
    pub fn new<S: AsRef<str>>(columns: &[(S, Align)]) -> Self {
        let mut text = row(columns.iter().map(|(name, _)| name));
        text.push('|');
        for (_, align) in columns {
            text.push_str(match align {
                Align::Left => "---|",
                Align::Right => "---:|",
            });
        }
        text.push('\n');
        Table { text }
    }

    /// A row of cells, one per column.
    pub fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.text.push_str(&row(cells));
    }

    /// The table, ending with a blank line.
    pub fn render(mut self) -> String {
        self.text.push('\n');
        self.text
    }
}

fn row<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> String {
    let mut line = String::from("|");
    for cell in cells {
        line.push(' ');
        line.push_str(cell.as_ref());
        line.push_str(" |");
    }
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_divider_rows() {
        let mut table = Table::new(&[("image", Align::Left), ("size", Align::Right)]);
        table.row(["who:rust", "812 kB"]);
        assert_eq!(
            table.render(),
            "| image | size |\n|---|---:|\n| who:rust | 812 kB |\n\n"
        );
    }
}
