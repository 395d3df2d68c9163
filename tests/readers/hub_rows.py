"""Rows shaped like the real Hub datasets (from their cards and public code), for the mapper
and Hub streaming tests."""

PLOT = "Rick Deckard hunts four replicants in Los Angeles. He falls for Rachael, a replicant."

HUB_ROWS = {
    "squad": [{
        "id": "5733be284776f41900661182", "title": "University_of_Notre_Dame",
        "context": "It is a replica of the grotto at Lourdes, France where the Virgin Mary "
                   "reputedly appeared to Saint Bernadette Soubirous in 1858.",
        "question": "To whom did the Virgin Mary allegedly appear in 1858 in Lourdes France?",
        "answers": {"text": ["Saint Bernadette Soubirous"], "answer_start": [93]},
    }],
    "squad_v2": [
        {"id": "56ddde6b9a695914005b9628", "title": "Normans", "context": "The Normans were in France.",
         "question": "In what country is Normandy located?",
         "answers": {"text": ["France", "France"], "answer_start": [21, 21]}},
        {"id": "5ad39d53604f3c001a3fe8d1", "title": "Normans", "context": "The Normans were in France.",
         "question": "Who gave their name to Normandy in the 1000's and 1100's", "answers": {"text": [], "answer_start": []}},
    ],
    "nq": [{"query": "the si unit of the electric field is",
            "answer": "Electric field An electric field is measured in volts per metre (V/m)."}],
    "trivia_qa": [
        {"question": "Which Lloyd Webber musical premiered in the US on 10th December 1993?",
         "question_id": "tc_33", "question_source": "http://www.triviacountry.com/",
         "entity_pages": {"doc_source": ["TagMe"], "filename": ["Andrew_Lloyd_Webber.txt"],
                          "title": ["Andrew Lloyd Webber"],
                          "wiki_context": ["Andrew Lloyd Webber is a composer.\n\nSunset Boulevard opened on "
                                           "Broadway in 1994 after its US premiere in 1993."]},
         "search_results": {"description": [], "filename": [], "rank": [], "title": [], "url": [],
                            "search_context": []},
         "answer": {"aliases": ["Sunset Blvd", "Sunset Boulevard"], "normalized_aliases": ["sunset blvd"],
                    "matched_wiki_entity_name": "", "normalized_matched_wiki_entity_name": "",
                    "normalized_value": "sunset boulevard", "type": "WikipediaEntity", "value": "Sunset Boulevard"}},
        {"question": "Unfindable?", "question_id": "tc_34", "question_source": "",
         "entity_pages": {"doc_source": ["TagMe"], "filename": ["x.txt"], "title": ["X"], "wiki_context": ["Nothing."]},
         "search_results": {"description": [], "filename": [], "rank": [], "title": [], "url": [],
                            "search_context": []},
         "answer": {"aliases": ["Y"], "normalized_aliases": ["y"], "matched_wiki_entity_name": "",
                    "normalized_matched_wiki_entity_name": "", "normalized_value": "y", "type": "", "value": "Y"}},
    ],
    "ms_marco": [
        {"answers": ["Results-Based Accountability is a disciplined way of thinking."],
         "passages": {"is_selected": [0, 1],
                      "passage_text": ["Unrelated passage.",
                                       "Results-Based Accountability is a disciplined way of thinking and acting."],
                      "url": ["http://a", "http://b"]},
         "query": "what is rba", "query_id": 19699, "query_type": "description", "wellFormedAnswers": []},
        {"answers": ["No Answer Present."],
         "passages": {"is_selected": [0], "passage_text": ["Other."], "url": ["http://c"]},
         "query": "no selection", "query_id": 19700, "query_type": "description", "wellFormedAnswers": []},
    ],
    "wiki_qa": [
        {"question_id": "Q1", "question": "how are glacier caves formed?", "document_title": "Glacier cave",
         "answer": "A partly submerged glacier cave on Perito Moreno Glacier.", "label": 0},
        {"question_id": "Q1", "question": "how are glacier caves formed?", "document_title": "Glacier cave",
         "answer": "A glacier cave is a cave formed within the ice of a glacier.", "label": 1},
    ],
    "duorc": [
        {"plot_id": "/m/03vyhn", "plot": PLOT, "title": "Blade Runner", "question_id": "b440de7d",
         "question": "Where does Deckard hunt?", "answers": ["Los Angeles"], "no_answer": False},
        {"plot_id": "/m/03vyhn", "plot": PLOT, "title": "Blade Runner", "question_id": "b440de7e",
         "question": "What is Deckard's dog called?", "answers": [], "no_answer": True},
    ],
    "newsqa": [{"context": "NEW DELHI, India (CNN) -- A high court in northern India on Friday acquitted a wealthy "
                           "businessman.", "question": "What was the businessman accused of?",
                "answers": ["wealthy businessman"], "key": "./cnn/stories/42d01e187213e86f5fe617fe32e716ff7fa3afc4.story",
                "labels": [{"start": [79], "end": [97]}]}],
    "yahoo_qa": [{"id": "3jHMXUBeMaBT", "question": "Why do cats purr?",
                  "answer": "Cats purr when content, and also to soothe themselves.", "nbestanswers": ["a", "b"],
                  "main_category": "Pets"}],
}
