// The tensor machine language: blocks (what is computed) and plans (how it maps onto a GPU).
// Keywords are contextual: every keyword below may also be used as a name (see `ident`).
grammar Tm;

@parser::members {
    /**
     * True where a top-level item begins: block NAME '{', plan NAME for, or include "...".
     * No statement starts like that, so a block body that reaches one has lost its closing brace: it ends
     * there with one error, instead of reading the items that follow as statements and reporting every line.
     */
    boolean atItemStart() {
        return itemStart(_input.LT(1), _input.LT(2), _input.LT(3));
    }

    /** Whether three consecutive tokens begin a top-level item (also used to word the error). */
    public static boolean itemStart(Token first, Token second, Token third) {
        if (second.getText().equals("=")) return false; // a statement such as 'plan = for + x'
        return switch (first.getText()) {
            case "block", "network" -> third.getText().equals("{");
            case "plan" -> third.getText().equals("for");
            case "include" -> second.getType() == STRING;
            default -> false;
        };
    }
}

file        : item* EOF ;
item        : includeDecl | blockDecl | planDecl | networkDecl ;

includeDecl : 'include' STRING ;

// ---- blocks -------------------------------------------------------------------------
blockDecl   : 'block' name=ident '{' member* '}' ;
member      : paramDecl | tensorDecl | {!atItemStart()}? assign ;
paramDecl   : 'param' binding (',' binding)* ;
binding     : ident '=' expr ;
tensorDecl  : role=('in' | 'w' | 'out') ident ':' dtype=ident '[' expr (',' expr)* ']' ;
assign      : ident '=' expr ;

expr        : '(' expr ')'                          # parenExpr
            | ident '(' (arg (',' arg)*)? ')'       # callExpr
            | op='-' expr                           # negExpr
            | expr op=('*' | '/' | '%') expr        # mulExpr
            | expr op=('+' | '-') expr              # addExpr
            | ident                                 # nameExpr
            | INT                                   # intExpr
            | FLOAT                                 # floatExpr
            ;
arg         : (ident ':')? expr ;

// ---- plans --------------------------------------------------------------------------
planDecl    : 'plan' name=ident 'for' block=ident ('on' arch=ident)? '{' directive* '}' ;
directive   : 'separate'                                        # separateDirective
            | 'auto'                                            # autoDirective
            | 'tile' tileDim (',' tileDim)*                     # tileDirective
            | 'place' ident 'in' space=ident halo?              # placeDirective
            | 'stream' ident 'by' (INT | chunkParam=ident)      # streamDirective
            | 'warps' count=INT ('+' consumers=INT)?            # warpsDirective
            | 'math' kind=ident ('for' tensor=ident)?           # mathDirective
            | 'resident' count=INT                              # residentDirective
            ;
tileDim     : ident INT ;
halo        : 'halo' INT haloMode=ident? ;

// ---- networks -----------------------------------------------------------------------
// A whole model as a sequence of layers and blocks, for tmc analyze (docs/analysis.md). Every statement but
// 'accuracy', 'fuse' and 'repeat' is a call: input(...), a plain layer such as conv(32, k: 3, stride: 2), or an
// instance of a block defined in the file such as ConvFirst(C: 64).
networkDecl : 'network' name=ident '{' netStmt* '}' ;
netStmt     : 'accuracy' value=(FLOAT | INT) source=STRING                  # accuracyStmt
            | 'fuse' '{' netStmt* '}'                                       # fuseStmt
            | 'repeat' count=INT '{' netStmt* '}'                           # repeatStmt
            | {!atItemStart()}? fn=ident ('(' (arg (',' arg)*)? ')')?       # layerStmt
            ;

ident       : ID | 'include' | 'block' | 'param' | 'in' | 'w' | 'out' | 'plan' | 'for' | 'on'
            | 'separate' | 'auto' | 'tile' | 'place' | 'stream' | 'by' | 'warps' | 'math' | 'halo' | 'resident'
            | 'network' | 'accuracy' | 'fuse' | 'repeat' ;

// ---- tokens -------------------------------------------------------------------------
ID          : [a-zA-Z_] [a-zA-Z_0-9]* ;
FLOAT       : [0-9]+ '.' [0-9]* EXPONENT? | '.' [0-9]+ EXPONENT? | [0-9]+ EXPONENT ;
INT         : [0-9]+ ;
STRING      : '"' (~["\\\r\n] | '\\' .)* '"' ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
// Digits glued to letters (3B, 4C, 1e5x) or an exponent without digits (1e, 2.5e-): one token, so that the
// parser reports it where it is written instead of splitting it and complaining about what follows.
BAD_NUMBER  : NUMBER_PART [eE] [+-]? | NUMBER_PART [a-zA-Z_] [a-zA-Z_0-9]* ;
fragment NUMBER_PART : [0-9]+ ('.' [0-9]*)? | '.' [0-9]+ ;

LINE_COMMENT  : '//' ~[\r\n]* -> channel(HIDDEN) ;
BLOCK_COMMENT : '/*' .*? '*/' -> channel(HIDDEN) ;
WS            : [ \t\r\n]+ -> channel(HIDDEN) ;
// Anything else is one bad character, reported by the parser with its position.
BAD_CHAR      : . ;
