from sheetscan.stages.names import Lexicon, lexicon

SMALL = Lexicon.from_lists(["OLIVIER", "OLIVIE", "PATRICE", "ÉMILIE", "ANDRÉ", "ANDRE", "MARC", "LÉA", "JEAN"],
                           ["TREMBLAY", "GIRARD", "HÉBERT", "CÔTÉ", "LEFEBVRE", "LEFÈBVRE"])


def test_a_missing_accent_is_added_from_the_preferred_spelling() -> None:
    assert SMALL.fix("ANDRE HEBERT") == "ANDRÉ HÉBERT"
    assert SMALL.fix("MARC-ANDRE COTE") == "MARC-ANDRÉ CÔTÉ"


def test_an_accent_of_the_wrong_shape_is_corrected_but_a_seen_accent_is_never_dropped() -> None:
    assert SMALL.fix("LÈA CÔTE") == "LÉA CÔTÉ"
    assert SMALL.fix("JEAN LEFEBVRE") == "JEAN LEFEBVRE"  # read exactly as the preferred spelling
    assert SMALL.fix("JÉAN TREMBLAY") == "JÉAN TREMBLAY"  # no known JEAN with an accent there: left alone


def test_dots_and_strokes_are_different_accents_except_over_an_i() -> None:
    names = Lexicon.from_lists(["GAËTAN", "BENOÎT", "NOËL"], [])
    assert names.fix("GAÉTAN NOÉL") == "GAÉTAN NOÉL"  # a stroke the reader saw is no diaeresis: left as read
    assert names.fix("GAETAN NOEL") == "GAËTAN NOËL"  # a missing accent is still added
    assert names.fix("BENOÏT") == "BENOÎT"  # an I's own dot makes any mark over it doubtful


def test_a_name_written_without_its_space_is_cut_where_known_words_meet() -> None:
    assert SMALL.fix("OLIVIERKHALIL") == "OLIVIER KHALIL"  # the longer known given name wins the tie
    assert SMALL.fix("ANDRETREMBLAY") == "ANDRÉ TREMBLAY"
    assert SMALL.fix("EMILIEGIRARD TREMBLAY") == "ÉMILIE GIRARD TREMBLAY"  # both halves known
    assert SMALL.fix("XAVIERGIRARDIN") == "XAVIERGIRARDIN"  # nothing known: untouched


def test_a_single_run_is_cut_by_one_known_side_only_where_the_cut_is_plausible() -> None:
    names = Lexicon.from_lists(["JEAN", "PHILIPPE", "EMY"], ["DE", "ANJOU"])
    assert names.fix("JEANXQZW") == "JEAN XQZW"  # one known word is enough to place the missing space
    assert names.fix("XQZW-NCDE") == "XQZW-NCDE"  # a lone two-letter word turns up in any run of letters
    assert names.fix("XQZW-SEMY") == "XQZW-SEMY"  # a cut leaving a one-letter word part (« XQZW-S EMY »)
    assert names.fix("JEAN-PHILIPPED'ANJOU") == "JEAN-PHILIPPE D'ANJOU"  # but an elision is one


def test_a_known_word_read_in_two_pieces_is_joined_and_unknown_names_pass_through() -> None:
    assert SMALL.fix("PA TRICE TREMBLAY") == "PATRICE TREMBLAY"
    assert SMALL.fix("ANDRÉ TR EMB LAY") == "ANDRÉ TREMBLAY"  # three pieces
    assert SMALL.fix("KARIM VAN HOUTTE") == "KARIM VAN HOUTTE"
    assert SMALL.fix("MARC TREMBLAY") == "MARC TREMBLAY"


def test_the_shipped_lexicon_knows_common_quebec_names_with_their_accents() -> None:
    names = lexicon()
    assert names.fix("FREDERIC GAGNE") == "FRÉDÉRIC GAGNÉ"
    assert names.knows("TREMBLAY", names.last) and names.knows("GENEVIÈVE", names.first)


def test_accents_a_known_name_never_has_give_way_to_its_closest_spelling() -> None:
    assert SMALL.fix("ÉMÏLIE GÏRARD") == "ÉMILIE GIRARD"  # i-dots read as diaereses
    assert Lexicon.from_lists(["LOIC", "LOÏC"], []).fix("LOÏC") == "LOÏC"  # a seen accent that exists stays


def test_a_space_read_in_the_wrong_place_moves_where_both_sides_are_known() -> None:
    assert SMALL.fix("PATRI CETREMBLAY") == "PATRICE TREMBLAY"
    assert SMALL.fix("OLIVIERGI RARD") == "OLIVIER GIRARD"
    assert SMALL.fix("MARC TREMBLAYS") == "MARC TREMBLAYS"  # no cut makes both sides known: as read


def test_spells_asks_for_every_word_as_known_accents_included() -> None:
    names = Lexicon.from_lists(["NOËL", "MARIE", "ÈVE"], ["TREMBLAY", "ARC"])
    assert names.spells("NOËL TREMBLAY") and names.spells("MARIE-ÈVE D'ARC")
    assert not names.spells("NOÊL TREMBLAY") and not names.spells("NOEL TREMBLAY")  # known words, unknown spellings
    assert not names.spells("NOËL TREMBLAT") and not names.spells("")


def test_near_finds_known_words_one_letter_away() -> None:
    assert SMALL.near("TREMBLEY") == ["TREMBLAY"]  # changed
    assert SMALL.near("GIRRARD") == ["GIRARD"]  # added
    assert SMALL.near("HBERT") == ["HEBERT"]  # missing
    assert SMALL.near("TREMBLAY") == [] and SMALL.near("XYZ") == []


def test_near_finds_words_two_letters_away_for_long_words_only_after_the_nearer_ones() -> None:
    assert SMALL.near("TRENBLEY") == ["TREMBLAY"]  # two letters changed
    assert SMALL.near("OLIVEE") == ["OLIVIE", "OLIVIER"]  # one letter away first, then two
    assert SMALL.near("GRARDT") == ["GIRARD"]  # one missing, one added
    assert SMALL.near("MRK") == [] and SMALL.near("JAEN") == []  # short: one letter only
