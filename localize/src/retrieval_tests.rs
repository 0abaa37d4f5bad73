use pretty_assertions::assert_eq;

use super::*;

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, &mut String::new(), |token| out.push(token.to_owned()));
    out
}

#[test]
fn tokens_split_snake_and_camel_case_and_keep_the_whole() {
    assert_eq!(tokens("get_FOO_display"), ["get_foo_display", "get", "foo", "display"]);
    assert_eq!(tokens("HTTPResponseRedirect(url)"), ["httpresponseredirect", "http", "response", "redirect", "url"]);
    assert_eq!(tokens("self.x = a + bulk_create"), ["self", "bulk_create", "bulk", "create"]);
    assert_eq!(tokens("__init__ utf8Codec"), ["init", "utf8codec", "utf8", "codec"]);
}

#[test]
fn headers_name_classes_and_module_functions() {
    let text = "class Cart:\n    def total(self):\n        pass\n\ndef format_price(x):\n    pass\n\
                async def fetch():\n    pass\n    class Inner(Base):\n        pass\n";
    assert_eq!(
        header_of("shop/cart.py", text),
        "### File Name: shop/cart.py\n### Classes: Cart, Inner\n### Functions: format_price, fetch\n"
    );
    let many: String = (0..200).map(|index| format!("def function_number_{index}():\n    pass\n")).collect();
    assert_eq!(header_of("big.py", &many), "### File Name: big.py\n");
}

#[test]
fn chunks_end_at_line_ends_and_cover_the_text() {
    let line = "x = 1  # padding padding padding padding padding padding padding padding\n";
    let text = line.repeat(100);
    let ranges = chunk_ranges(&text);
    assert!(ranges.len() > 1);
    assert_eq!(ranges.first().map(|range| range.start), Some(0));
    assert_eq!(ranges.last().map(|range| range.end), Some(text.len()));
    for pair in ranges.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
        assert!(text[pair[0].clone()].ends_with('\n'));
        assert!(pair[0].len() >= CHUNK_CHARS && pair[0].len() < CHUNK_CHARS + line.len());
    }
    assert_eq!(chunk_ranges(""), Vec::<Range<usize>>::new());
}

fn corpus(files: &[(&str, &str)]) -> Corpus {
    let mut corpus = Corpus { files: Vec::new(), chunks: Vec::new() };
    for (index, (path, text)) in files.iter().enumerate() {
        corpus.chunks.extend(chunk_ranges(text).into_iter().map(|code| Chunk { file: index, code }));
        corpus.files.push(CorpusFile {
            path: (*path).to_owned(),
            header: header_of(path, text),
            text: (*text).to_owned(),
        });
    }
    corpus
}

#[test]
fn bm25_ranks_files_by_their_best_chunks() {
    let corpus = corpus(&[
        ("shop/payment.py", "class Gateway:\n    def charge(self, amount):\n        return amount\n"),
        ("shop/cart.py", "class Cart:\n    def apply_discount(self, discount):\n        self.discount = discount\n"),
        ("shop/discounts.py", "class PercentDiscount:\n    percent = 10\n\ndef best_discount(discounts):\n    pass\n"),
        ("shop/util.py", "def slugify(text):\n    return text.lower()\n"),
    ]);
    assert_eq!(corpus.chunk_count(), 4);
    let ranked = corpus.rank_bm25("Cart.apply_discount ignores a PercentDiscount");
    assert_eq!(ranked, ["shop/cart.py", "shop/discounts.py"]);
    // A path word counts too (the header carries the path).
    assert_eq!(corpus.rank_bm25("payment fails"), ["shop/payment.py"]);
    assert_eq!(corpus.rank_bm25("nothing in common"), Vec::<String>::new());
    assert_eq!(corpus.rank_bm25(""), Vec::<String>::new());
}

#[test]
fn rare_terms_outweigh_common_ones() {
    let common = "def helper(value):\n    return value\n";
    let corpus = corpus(&[
        ("a.py", common),
        ("b.py", common),
        ("c.py", "def helper(value):\n    return frobnicate(value)\n"),
        ("d.py", common),
    ]);
    assert_eq!(corpus.rank_bm25("helper frobnicate")[0], "c.py");
}
